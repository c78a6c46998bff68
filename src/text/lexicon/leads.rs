//! Context cues that turn collaboration words into a lead score (lead
//! detection, `leads/detect.rs`). The lead keywords themselves are the rules
//! layer's `lead.keyword` in `rules.rs` (tunable through `[rules] extra_lead`
//! and `disable_keywords`); these tables only weigh the context around them.

/// The author speaks for a business, an organisation or as a creator.
pub(crate) const BUSINESS: &[&str] = &[
    // nl
    "(wij|we) (hebben|runnen|zijn|exploiteren|organiseren|lanceren|vertegenwoordigen) (een|de|vier|twee|drie)",
    "(ik|wij|we) (run|runnen|beheer|beheren) een",
    "ik ben (eigenaar|inkoper|inkoopster|eventmanager|creator|content creator|manager|oprichter|ondernemer)",
    "ik (vertegenwoordig|maak) ",
    "namens",
    "(onze|ons) *(centrum|vereniging|winkel|zaak|bedrijf|bureau|keten|school|club)",
    "(onze|ons) (bedrijf*|zaak|winkel|webshop|vereniging|club|stichting|bureau|agentschap|centrum|keten|bloemenwinkel|personeelsdag|congres|organisatie|team)",
    "(redactie|reclamebureau|evenement*)",
    // en
    "(we|we're|we are|i|i'm|i am) (a|an) (buyer|creator|agency|tour operator|shop|store|brand|retailer|company|business|organi*|club|team|podcast|writer|journalist)",
    "(we|i) (own|run|manage|host|organi*|organi*|represent|are organi*|are launching|'re launching|'re organi*)",
    "(i'm|i am) (organi*|launching)",
    "(we're|we are) (organi*|launching|looking|a)",
    "(our|my) (company|business|shop|store|boutique|agency|brand|club|academy|venue|clinic*|team|firm|organi*|co-working|coworking|chain|podcast|channel|event|festival|market)",
    "i manage",
    "our .. (boutique|shop|store|cafe|company|agency|brand|club|venue|space|firm|studio|salon|restaurant|hotel)",
    "(we'd|we would) like to order",
    "(creator|influencer) (on|here)",
    "writer at",
    "(on|at) (a|an) (national|regional|local) (newspaper|magazine)",
    // de
    "(wir|ich) (fuhren|betreiben|veranstalten|organisieren|planen|vertreten|sind)",
    "ich bin (content creator|inhaber*|einkaufer*|creator)",
    "(unser|unsere|unserer) (firma|unternehmen|geschaft|laden|verein|handballverein|agentur|team|kunde)",
    "(fur|als) (unsere|unser|eine) (firma|agentur|unternehmen)",
    // fr
    "(nous|je) (avons|sommes|organisons|lancons|representons|suis) ",
    "(notre|nos) (association|club|entreprise|societe|boutique|magasin|agence|equipe|marque)",
    "pour notre (entreprise|societe|association)",
    // es
    "(tenemos|somos|organizamos|representamos|lanzamos) ",
    "soy (creador*|creadora|comprador*|dueno|duena|propietari*)",
    "(nuestro|nuestra) (club|empresa|tienda|agencia|marca|festival|equipo)",
    "en la (oficina|empresa)",
];

/// The message asks to do business: stock, resell, sponsor, quote, meet.
pub(crate) const PROPOSAL: &[&str] = &[
    // nl
    "(in ons|in het) (assortiment|schap)",
    "(jullie|uw|je) .. (verkopen|doorverkopen|aanbieden|opnemen)",
    "(inkoopprijs*|inkoopprijzen|minimale afname|handelsprijs*|zakelijke (abonnement*|tarieven))",
    "(interesse|open staan|bespreekbaar|lijkt het jullie wat|afspraak|kunnen we bellen|voorstel sturen|contactpersoon|wie kan ik mailen)",
    "(zoeken|zoekt|zoek) .. (partner*|sponsor*|merken|leverancier*)",
    "(prijsopgave|offerte)",
    "graag .. (samen|reportage|informatie over zakelijk*)",
    // en
    "(carry|stock|sell|supply|feature|include|wholesale) (your|them|these)",
    "(could|can) we (carry|stock|sell|get a)",
    "(trade|wholesale) (price*|terms|account)",
    "corporate (gift*|order*)",
    "(looking for|after|seek*) (a|an) .. (partner*|sponsor*|supplier)",
    "looking to partner",
    "(would you|would you like to|fancy|keen to|open to|interested in) .. (sponsor*|partner*|collab*|chat|conversation|carry*|stock*|discuss*|explore)",
    "(interested|open to a conversation|fancy a chat|who's best to contact|can i email you|rates on request|media kit)",
    "(get in touch|discuss carrying)",
    "(units|hampers|lines) ",
    // de
    "(ins|in unser) sortiment",
    "(handlerkonditionen|konditionen|ein angebot|angebot schicken)",
    "(suchen|sucht) .. (partner*|sponsor*|partnermarke)",
    "(vertreiben|ansprechpartner|interesse an)",
    "(lust auf|ware .. denkbar)",
    // fr
    "(referencer|distribuer|vendre) (vos|votre)",
    "(conditions revendeur|devis|qui est le bon contact|en discuter)",
    "(recherche|cherche) .. (partenaire*|sponsor*)",
    "(seriez-vous|vous interesserait|ouverts a)",
    // es
    "(vender|distribuir) (vuestr*|su|sus)",
    "(condiciones|cuanto saldria|os interesa|os animais)",
    "(buscamos|busca) .. (marca*|patrocinador*|socio*)",
];

/// A partnership that already exists, or someone else's: complaints about
/// it, questions about it, praise of it. None of these is a new opportunity.
pub(crate) const EXISTING: &[&str] = &[
    // nl
    "(jullie|jouw|uw) .. (samenwerking|sponsordeal|sponsoring|partnerschap|collab) (met|van)",
    "(jullie|nog steeds|nog) .. (sponsor|partner) (van|met)",
    "(samenwerken|samenwerking) met (de|het|bol*|die)",
    "(is|was) de samenwerking",
    "(wie is|wat is) .. (partner|sponsor)",
    "geld aan een",
    // en
    "(your|that|the) .. (partnership|sponsorship|collab|collaboration) (of|with|for)",
    "(are|is) (you|they) still .. (partner*|sponsor*|working)",
    "(love|great|glad) that (you're|you are|you) .. (working|partnering|sponsoring)",
    "partner offers",
    "should sell these",
    // de
    "(eure|ihre|deine) .. (partnerschaft|kooperation|zusammenarbeit|sponsoring) (mit|von)",
    "(seid ihr|sind sie) noch .. (sponsor|partner)",
    // fr
    "(votre|vos|ton) (partenariat|sponsoring|collaboration) (de|avec)",
    "(toujours|encore) (partenaire*|sponsor*)",
    // es
    "(vuestro|su|tu) (patrocinio|colaboracion) (a|de|con)",
    "(seguis|siguen|todavia) (patrocinando|colaborando)",
];

/// Buying for oneself, family or a party: a consumer, not a business.
pub(crate) const PERSONAL: &[&str] = &[
    "(voor|for|fur|pour|para) (mij|mezelf|me|mich|moi|mi) (familie|family|familia|famille|kids|kinderen|zus|zelf)?",
    "(voor|for|fur|pour|para) (mijn|m'n|my|meine|meinen|ma|mon|mes|mi|mis) (familie|gezin|kinderen|kids|zus|bruiloft|verjaardag|family|kids|children|birthday|wedding|party|familia|famille|enfants|hijos|40th|sister)",
    "(each|one) (of|for) my (kids|children)",
    "re:met [0-9]+ thuis",
    "gebruik het zelf",
    "(just|alleen|nur|juste|solo) (curious|nieuwsgierig)",
    "(my|mijn) (personal|persoonlijk*|prive) ",
    "(give me|geef me) free",
];
