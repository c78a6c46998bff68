//! The application's shared context: what every background job and every
//! request handler reads (the database, the configuration, the model, the
//! drafter, the platforms' connectors). Built once by `startup`, it lives
//! apart from any one stage so that no stage has to import another to
//! reach it.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::classify::Classifier;
use crate::config::Config;
use crate::deliver::Connectors;
use crate::draft::Drafter;
use crate::store::Db;

/// Everything a job or a handler needs, shared by all of them.
pub struct Services {
    pub db: Db,
    pub config: Arc<Config>,
    pub classifier: Arc<dyn Classifier>,
    pub drafter: Drafter,
    pub connectors: Connectors,
    /// Wakes this process's idle workers when new work is committed.
    pub wake: Arc<Notify>,
}

pub type Ctx = Arc<Services>;
