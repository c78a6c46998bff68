//! The rules layer's built-in vocabulary (`classify::rules`): one table per
//! rule and language, written in the keyword syntax of
//! [`crate::text::pattern`]. All matching happens on normalised text, so
//! entries are lowercase and without accents (`ruckbuchung`, `grosshandel`,
//! `je sais ou tu habites`).
//!
//! Entries are chosen for precision on a brand's inbox: a bare `partner`
//! (life partner), `bomb` (bath bomb, "the bomb"), `angebot` (a special
//! offer), `avocat` (avocado) or `gericht` (a dish) would drown the real
//! signals, so those only appear inside phrases.

use crate::domain::{Flag, Lang};

pub(crate) type Keywords = &'static [(Option<Lang>, &'static [&'static str])];

/// Every keyword of a table, whatever its language.
pub(crate) fn table_keywords(table: Keywords) -> impl Iterator<Item = &'static str> {
    table.iter().flat_map(|(_, kws)| kws.iter().copied())
}

/// A named rule and its keywords per language (`None`: language-neutral).
pub(crate) struct RuleDef {
    pub name: &'static str,
    pub flag: Flag,
    pub keywords: Keywords,
}

/// A group of rules that `[rules] extra_<key>` extends; extras become part
/// of `extra_rule`.
pub(crate) struct Category {
    pub key: &'static str,
    pub extra_rule: &'static str,
    pub flag: Flag,
    pub rules: &'static [RuleDef],
}

const NL: Option<Lang> = Some(Lang::Nl);
const EN: Option<Lang> = Some(Lang::En);
const DE: Option<Lang> = Some(Lang::De);
const FR: Option<Lang> = Some(Lang::Fr);
const ES: Option<Lang> = Some(Lang::Es);
const ANY: Option<Lang> = None;

pub(crate) const LEAD_RULE: &str = "lead.keyword";
pub(crate) const LEAD_NEGATED: &str = "lead.negated";

pub(crate) const CATEGORIES: &[Category] = &[
    Category {
        key: "legal",
        extra_rule: "legal.custom",
        flag: Flag::Legal,
        rules: LEGAL,
    },
    Category {
        key: "threat",
        extra_rule: "threat.custom",
        flag: Flag::Threat,
        rules: THREAT,
    },
    Category {
        key: "hate",
        extra_rule: "hate.custom",
        flag: Flag::Hate,
        rules: HATE,
    },
    Category {
        key: "injection",
        extra_rule: "injection.custom",
        flag: Flag::Injection,
        rules: INJECTION,
    },
    Category {
        key: "press",
        extra_rule: "press.custom",
        flag: Flag::Press,
        rules: PRESS,
    },
    Category {
        key: "self_harm",
        extra_rule: "self_harm",
        flag: Flag::SelfHarm,
        rules: SELF_HARM,
    },
    Category {
        key: "lead",
        extra_rule: LEAD_RULE,
        flag: Flag::Lead,
        rules: LEAD,
    },
    Category {
        key: "spam",
        extra_rule: "spam.custom",
        flag: Flag::Spam,
        rules: SPAM,
    },
];

// ---------------------------------------------------------------- legal

const LEGAL: &[RuleDef] = &[
    RuleDef {
        name: "legal.lawyer",
        flag: Flag::Legal,
        keywords: &[
            (
                NL,
                &[
                    "advocaat",
                    "advocaten*",
                    "jurist*",
                    "juridische (stappen|actie|weg)",
                    "rechtsbijstand*",
                ],
            ),
            (
                EN,
                &[
                    "lawyer*",
                    "attorney*",
                    "solicitor*",
                    "legal (action|steps|proceedings|department|team)",
                    "law firm",
                ],
            ),
            (
                DE,
                &[
                    "anwalt*",
                    "anwalte*",
                    "rechtsanwalt*",
                    "(rechtliche|juristische|gerichtliche) schritte",
                    "rechtsschutz*",
                ],
            ),
            (
                FR,
                &[
                    "(mon|notre|mes|nos|votre) avocat*",
                    "(d'un|prendre un|par un) avocat",
                    "avocat (conseil|specialise)",
                    "cabinet d'avocat*",
                    "action en justice",
                    "poursuites judiciaires",
                    "service juridique",
                    "protection juridique",
                    "juriste*",
                ],
            ),
            (
                ES,
                &[
                    "abogad*",
                    "accion* legal*",
                    "acciones judiciales",
                    "via judicial",
                    "asesor* juridic*",
                ],
            ),
        ],
    },
    RuleDef {
        name: "legal.lawsuit",
        flag: Flag::Legal,
        keywords: &[
            (
                NL,
                &[
                    "rechtszaak*",
                    "rechtzaak*",
                    "aanklagen",
                    "aanklacht",
                    "dagvaard*",
                    "(naar|voor) de rechter",
                    "rechtbank",
                    // A bare "proces" is Dutch for process, and the French
                    // "proces" (a trial) normalises to the same word.
                    "proces tegen",
                    "(een )?proces (aanspannen|aangespannen)",
                    "(span|spannen|spant) .. proces aan",
                ],
            ),
            (
                EN,
                &[
                    "lawsuit*",
                    "law suit",
                    // Not a bare "sue": Sue is a name ("Sue at the Leeds store").
                    "sue (you|u|ya|your|ur|them|this|the (company|shop|store|brand))",
                    "(i|we) (will|shall|am going to|are going to|am gonna) sue",
                    "(i'll|we'll|i'm going to|im going to|we're going to|i'm gonna|im gonna|gonna|going to) sue",
                    "suing",
                    "sued",
                    "(take|taking|see) (you|u|this|them) (to|in) court",
                    "court case",
                    "class action",
                ],
            ),
            (
                DE,
                &[
                    "klage",
                    "verklag*",
                    "vor gericht",
                    "gerichtlich*",
                    "sammelklage*",
                    "zivilklage*",
                ],
            ),
            (
                FR,
                &[
                    "poursuivre en justice",
                    "(je vais|j'vais|on va|nous allons) (vous|te) poursuivre",
                    "saisir (la justice|les tribunaux|le tribunal)",
                    "(faire|intenter|ferai|intenterai) (un )?proces",
                    "(un|le) proces (contre|a) (vous|toi|votre|ta|ton|la|le)",
                    "tribunal*",
                    "attaquer en justice",
                    "action collective",
                ],
            ),
            (
                ES,
                &[
                    "demandar*",
                    "(una|poner|interponer|presentar) demanda",
                    "juzgado*",
                    "tribunales",
                ],
            ),
        ],
    },
    RuleDef {
        name: "legal.authority",
        flag: Flag::Legal,
        keywords: &[
            (
                NL,
                &[
                    "acm",
                    "autoriteit consument*",
                    "consumentenbond",
                    "geschillencommissie",
                    "consuwijzer",
                    "test-aankoop",
                    "kifid",
                    "ombudsman*",
                    "ombudsdienst*",
                    "economische inspectie",
                ],
            ),
            (
                EN,
                &[
                    "trading standards",
                    "consumer (protection|rights) (agency|authority|office|bureau)",
                    "citizens advice",
                    "better business bureau",
                    "advertising standards",
                ],
            ),
            (
                DE,
                &[
                    "verbraucherzentrale*",
                    "verbraucherschutz*",
                    "schlichtungsstelle*",
                    "bundesnetzagentur",
                ],
            ),
            (
                FR,
                &[
                    "dgccrf",
                    "ufc que choisir",
                    "60 millions de consommateurs",
                    "mediateur de la consommation",
                    "signalconso",
                    "test-achats",
                ],
            ),
            (
                ES,
                &[
                    "ocu",
                    "facua",
                    "oficina de consumo",
                    "hoja* de reclamacion*",
                    "omic",
                    "defensa del consumidor",
                    "organizacion de consumidores",
                ],
            ),
        ],
    },
    RuleDef {
        name: "legal.chargeback",
        flag: Flag::Legal,
        keywords: &[
            (NL, &["terugboek*", "stornering*", "storneren"]),
            (
                EN,
                &[
                    "chargeback*",
                    "charge back",
                    "dispute the (charge|payment|transaction)",
                    "(paypal|bank|credit card) (dispute|claim)",
                    "reverse the (charge|payment)",
                ],
            ),
            (
                DE,
                &[
                    "ruckbuchung*",
                    "ruckbuchen",
                    "lastschrift (zuruck*|widerrufen)",
                    "zahlung (zuruckbuchen|zuruckholen|stornieren)",
                ],
            ),
            (
                FR,
                &[
                    "retrofacturation",
                    "opposition (bancaire|sur (ma|la) carte)",
                    "faire opposition",
                    "litige paypal",
                ],
            ),
            (
                ES,
                &["contracargo*", "retrocargo*", "disputa (con|en) paypal"],
            ),
        ],
    },
    RuleDef {
        name: "legal.small_claims",
        flag: Flag::Legal,
        keywords: &[
            (NL, &["kantonrechter", "kantongerecht"]),
            (EN, &["small claims*", "county court", "moneyclaim*"]),
            (DE, &["mahnverfahren*", "mahnbescheid*", "amtsgericht*"]),
            (
                FR,
                &[
                    "injonction de payer",
                    "juge de proximite",
                    "conciliateur de justice",
                ],
            ),
            (ES, &["proceso monitorio", "juicio verbal", "monitorio"]),
        ],
    },
    RuleDef {
        name: "legal.notice",
        flag: Flag::Legal,
        keywords: &[
            (
                NL,
                &[
                    "ingebrekestelling*",
                    "in gebreke (stellen|gesteld|stel)",
                    "sommatie*",
                ],
            ),
            (
                EN,
                &[
                    "letter before action",
                    "formal notice",
                    "cease and desist",
                    "notice of default",
                ],
            ),
            (DE, &["abmahnung*", "fristsetzung", "letzte frist"]),
            (FR, &["mise en demeure", "mettre en demeure"]),
            (ES, &["burofax", "requerimiento (formal|notarial)"]),
        ],
    },
    RuleDef {
        name: "legal.police_report",
        flag: Flag::Legal,
        keywords: &[
            (
                NL,
                &[
                    "aangifte .. (doen|gedaan)",
                    "(doe|doen|ga|gaan) aangifte",
                    "(doe|doen|ga|gaan) (ik|we|wij) aangifte",
                    "in gebreke (stellen|gesteld|stel)",
                    "(stel|stellen) .. in gebreke",
                    "aangifte van (oplichting|fraude|diefstal)",
                    "politie inschakelen",
                    "naar de politie",
                ],
            ),
            (
                EN,
                &[
                    "report (you|this|it|them) to the police",
                    "(call|calling|contact) the police",
                    "police report",
                ],
            ),
            (
                DE,
                &[
                    "anzeige (erstatten|erstattet)",
                    "strafanzeige*",
                    "(zur|die) polizei",
                    "(ich|wir) (werde|werden) (sie|dich|euch|ihn|die firma) .. anzeigen",
                ],
            ),
            (
                FR,
                &[
                    "porter plainte",
                    "deposer (une )?plainte",
                    "deposer plainte",
                    "(appeler|prevenir) la police",
                ],
            ),
            (ES, &["denuncia*", "(llamar|llamo|acudir) a la policia"]),
        ],
    },
];

// ---------------------------------------------------------------- threat

const THREAT: &[RuleDef] = &[
    RuleDef {
        name: "threat.violence",
        flag: Flag::Threat,
        keywords: &[
            (EN, &["(he'll|she'll|you'll|they'll|you will|he will) regret (it|this)", "i know what time your .. (leaves|leave|closes|gets)"]),
            // Not "lossen we het anders op": that is also "we'll sort it out
            // another way" said kindly.
            (NL, &["(jullie|je|u) (bent|zijn) gewaarschuwd"]),
            (EN, &["someone('s| is) (getting|going to get|gonna get) hurt", "see what happens to (your|the) (shop|store|staff|windows|family|car)", "burn (this|the|your) (place|shop|store|building|warehouse) down",
                // Coming to the shop is how customers collect orders; only
                // what they will do there makes it a threat.
                "(come|coming) to your (warehouse|shop|store|office|house|place) .. (smash|wreck|trash|burn|break|destroy|kill|beat|hurt|stab|shoot|sort you out)",
                "smash (your|ur) (windows|window|shop|store|car|head)"]),
            // "eraan" ends the threat ("je gaat eraan!"); with a verb after
            // it is ordinary: "gaan jullie eraan werken?", "zijn eraan gewend".
            (NL, &[
                r"re:(?-u:\b)(?:(?:gaat|gaan) (?:ie|hij|zij|ze|jij|je|jullie)|(?:jij|je|jullie|hij|ie) (?:bent|zijn|gaat|gaan|is)) eraan(?:[ \n]*$|[ \n]*[!.,;]| (?:als|hoor|jongen|vriend|maat|let|echt|vandaag|morgen|straks))",
                "(steek|steken|fik|fikken) .. (in de fik|in brand)",
                "kijk maar (wat|eens wat) er .. gebeurt",
            ]),
            (NL, &["in elkaar (slaan|trappen|timmeren|rammen|beuken)", "(ik|we|wij) (ga|gaan|zal|zullen) .. (opwachten|afmaken|neersteken|neerschieten)", "(hem|haar|jou|je|jullie) opwachten"]),
            (EN, &[
                // A subject and a person as object: "I'd kill for this cake",
                // "this price is killing me" and "killer deal" stay out.
                "(i'll|i will|i'm going to|im going to|i'm gonna|im gonna|gonna|going to|i want to|wanna|we'll|we will) .. (kill|murder|stab|strangle|beat up|punch|slap|hurt) (you|u|ya|y'all|him|her|them|everyone|all of you|your *|the (staff|owner|manager|employees|boss|cashier|driver))",
                "(i'll|i will|i'm going to|im going to|i'm gonna|im gonna|gonna|going to|we'll|we will) .. (beat|kick|knock) (you|u|ya|him|her|them|the (staff|owner|manager)) (up|senseless|out)",
                "kick (your|ur|ya|his|her|their) (ass|arse|butt)",
                // "I'll shoot you an email", "shoot you a DM", "shoot your new
                // collection" are not shootings: only a shot that ends there,
                // or goes on as one, counts.
                r"re:(?-u:\b)(?:i'?ll|i will|i'?m going to|im going to|i'?m gonna|im gonna|gonna|going to|i want to|wanna|we'?ll|we will) (?:[^ \n]+ ){0,3}?shoot (?:you|u|ya|y'?all|him|her|them|everyone|all of you|the (?:staff|owner|manager|employees|boss|cashier|driver))(?:[ \n]*$|[ \n]*[!.,;]| (?:dead|down|in the|in your|right|point|myself|if|when|and|on sight|tomorrow|today|first))",
                "(you're|you are|ur|your) (going to|gonna) die",
                "(you'll|you will) die",
                "watch your back",
                "(i'll|i will) find (you|u)",
                "break your (legs|neck|face)",
                "(smash|punch) your face",
                "beat the (shit|crap|hell) out of",
                "kill yourself",
                "kys",
            ]),
            (NL, &[
                "ik maak (je|jou|jullie|u) .. af",
                "(ik|wij|we) (vermoord|vermoorden) (je|jou|jullie|u)",
                "(ik|we|wij) (steek|steken) (je|jou|jullie) (neer|dood|overhoop)",
                "(ik|we|wij) (sla|slaan|schop|schoppen|trap|trappen) (je|jou|jullie|u) .. (in elkaar|verrot|dood|kapot|lens)",
                "(ik|we|wij) (sla|slaan|trap|trappen) (je|jouw|jullie|uw) (kop|kk|kanker|hoofd|smoel|bek|tanden|schedel) in",
                "(ik|we|wij) (maak|maken) (je|jou|jullie|u) (helemaal )?kapot",
                "ik kom (je|jou|jullie) halen",
                "maak (je|jou|jullie) dood",
                "(schiet|knal) (je|jou|jullie) (neer|dood)",
            ]),
            (DE, &[
                "ich (bring|bringe) (dich|euch|sie) um",
                "(dich|euch) .. (umbringen|abstechen|abknallen|kaltmachen)",
                "ich (stech|steche) (dich|euch) ab",
                "ich (schlag|schlage) (dich|euch) (tot|zusammen|krankenhausreif)",
                "ich (mach|mache) (dich|euch) (kalt|platt|fertig)",
                "(ich|wir) (werde|werden) (dich|euch) (fertig|kalt|platt) machen",
                "du bist (tot|fallig)",
            ]),
            (FR, &[
                "(je vais|j'vais|jvais|on va) (te|vous) (tuer|buter|crever|defoncer|egorger|planter|frapper|taper|cogner)",
                "(t'es|tu es|vous etes) (mort|morts|un homme mort)",
                "(te|vous) faire la peau",
                "(te|vous) casser la gueule",
            ]),
            (ES, &[
                "(te|os|los|la|lo|les) (voy|vamos) a (matar|apunalar|reventar|pegar un tiro|partir la cara)",
                "(voy|vamos) a (matarte|mataros|matarlos|matarla|matarlo)",
                "(te|os) mato",
                "(estas|estais) muerto*",
                "(te|os) (parto|rompo) la cara",
                "(te|os) (voy|vamos) a (romper|partir) (la cara|la boca|la crisma|las piernas)",
                // `pegar` is also to paste: "te voy a pegar el enlace".
                r"re:(?-u:\b)(?:te|os) (?:voy|vamos) a pegar(?:[ \n]*$|[ \n]*[!.,;]| (?:una paliza|una hostia|un tiro|un punetazo|hasta|si|cuando))",
            ]),
        ],
    },
    RuleDef {
        name: "threat.location",
        flag: Flag::Threat,
        keywords: &[
            (EN, &["i know where (you|u|ya) (live|work)", "i know where (your|ur) (house|kids|family|home)", "i know your (address|home address)", "i know (which|what) car (is|belongs to) (yours|his|hers|theirs)", "(is|are|should be) lucky (i|we) (didn't|did not|didnt) (smash|punch|hit|beat|kick|stab|hurt)"]),
            (NL, &["ik weet waar (je|jij|jullie|u) (woont|wonen|werkt|werken|woon)", "ik weet (je|jouw|jullie) (adres|woonadres)", "(ik|we|wij) (weet|weten) (je|jou|jullie|u) (wel )?te vinden"]),
            (DE, &["ich weiss wo (du|ihr|sie) (wohnst|wohnt|wohnen|arbeitest|arbeitet)", "ich kenne (deine|eure) adresse", "(ich|wir) (werde|werden) (dich|euch) finden"]),
            (FR, &["je sais ou (tu|vous) (habites|habitez|vis|vivez|travailles|travaillez)", "je connais (ton|votre) adresse"]),
            (ES, &["se donde (vives|vivis|vive|viven|trabajas)", "(se|tengo|conozco) tu direccion"]),
        ],
    },
    RuleDef {
        name: "threat.attack",
        flag: Flag::Threat,
        keywords: &[
            (EN, &[
                "(bomb|blow up|burn down|torch|set fire to|shoot up) (your|the|this|that) (shop|store|place|office|building|restaurant|business|factory|warehouse|company|house)",
                "burn (it|you|your shop|your store|the place) down",
                "(plant|put|place|leave) a bomb",
                "bomb threat",
                "(there's|there is) a bomb",
                "mass shooting",
            ]),
            // Not a bare "in de fik" or "opblazen": a powerbank "vloog in de
            // fik" (a safety complaint) and an airbed needs "opblazen".
            (NL, &["(steek|steken|zet|zetten|gooi|gooien) .. in de fik", "(winkel|zaak|pand|kantoor|magazijn|filiaal|tent|toko|boel|gebouw|fabriek) .. in de fik", "in brand (steken|steek)", "(steek|steken) .. in brand", "(winkel|zaak|pand|kantoor|magazijn|filiaal|tent|toko|boel|gebouw|fabriek) .. opblazen", "(ga|gaan|zal|zullen) (jullie|jou|je|u) opblazen", "platbranden", "een bom (leggen|plaatsen|neerzetten)", "bommelding"]),
            (DE, &["(laden|shop|geschaft|filiale|buro|firma|bude) .. (anzunden|abfackeln|niederbrennen|sprengen)", "abfackeln", "in die luft (sprengen|jagen)", "(eine|ne) bombe (legen|platzieren|hochgehen)", "bombendrohung", "amok (laufen|lauf)", "amoklauf"]),
            (FR, &["(mettre|foutre) le feu a (ta|votre|ton|vos|la|le) (boutique|magasin|resto|restaurant|bureau|entreprise|usine|maison|local)", "(cramer|bruler|faire sauter) (ta|votre|la|ton|vos|le) (boutique|magasin|resto|restaurant|bureau|entreprise|usine|maison|local)", "(poser|mettre) une bombe", "alerte a la bombe"]),
            (ES, &["(quemar|incendiar|volar|reventar) (tu|vuestra|la|su|el) (tienda|local|negocio|oficina|restaurante|empresa|casa)", "prender* fuego a (tu|vuestra|la|su|el) (tienda|local|negocio|oficina|restaurante|empresa|casa)", "(poner|colocar) una bomba", "amenaza de bomba"]),
        ],
    },
];

// ---------------------------------------------------------------- hate

const HATE: &[RuleDef] = &[
    RuleDef {
        name: "hate.slur",
        flag: Flag::Hate,
        keywords: &[
            // A slur that is also an ordinary word deletes an innocent
            // comment and blocks its author, so those need a context:
            // `retard` is French for "late", `spic` is in "spic and span",
            // `fag` a British cigarette, `chink` a gap ("a chink in the
            // armour"), and `kike*` would take the German `kikeriki`.
            (EN, &["nigger*", "nigga*", "faggot*", "(you|u|dirty|filthy|fucking|fuckin|stupid|damn) (fag|fags|chink|chinks|spic|spics)", "kike", "kikes", "spics", "wetback*", "towelhead*", "raghead*", "tranny", "trannies", "retarded", "gook*", "paki", "pakis"]),
            // `neger*` would also hit `negeren` (to ignore); `flikker*` the
            // verb `flikkeren` (a lamp that flickers) and "geen flikker"
            // (not a thing).
            (NL, &["neger", "negers", "negerin", "nikker*", "makak", "makakken", "kutmarokka*", "geitenneuker*", "(vuile|vieze|smerige|stomme|kut|jij|jullie|vuil|vuilen) (flikker|flikkers)", "kankerflikker*", "mongool", "kanker(jood|joden|turk|turken|marokkaan|marokkanen|neger|negers|homo|homos)"]),
            (DE, &["neger", "kanake*", "kanacke*", "schwuchtel*", "judensau", "untermensch*", "zigeunerpack", "kameltreiber*"]),
            (FR, &["negre", "negres", "negresse*", "bougnoul*", "youpin*", "pede", "pedes", "tarlouze*", "bicot*", "chinetoque*", "bamboula*", "sale (arabe|arabes|juif|juifs|noir|noirs|negre|pede|musulman|musulmans|gitan|gitans)"]),
            (ES, &["maricon*", "sudaca*", "negrata*", "moro de mierda", "(puto|puta|sucio|sucia|malditos) (negro|negros|moro|moros|judio|judios|maricon|sudaca|gitano|gitanos)"]),
        ],
    },
    RuleDef {
        name: "hate.dehumanising",
        flag: Flag::Hate,
        keywords: &[
            (EN, &[
                "(jews|muslims|blacks|gays|immigrants|migrants|refugees|arabs|mexicans|asians|gypsies|trans people|women) (are|r) (animals|vermin|rats|cockroaches|parasites|subhuman|apes|monkeys|a disease|scum|filth)",
                "gas the *",
                "(should|must|need to|deserve to) be (exterminated|gassed|wiped out)",
                "go back to (your|ur) (country|jungle)",
                "subhuman*",
                "(jews|jewish people|muslims|blacks|gays|immigrants|migrants|refugees|arabs|mexicans|asians|gypsies|trans people|women|disabled people) (running|run|control|controlling) (another|every|the|this) (company|business|country|media)",
                "(women|woman) .. (belong|back to) .. kitchen",
                "(jews|jewish people|muslims|blacks|gays|immigrants|migrants|refugees|arabs|mexicans|asians|gypsies|trans people|women|disabled people) (shouldn't|should not|must not|mustn't) be allowed",
                "boycott (all|every one) of them",
                "(they|these people|those people) should (all )?be (sent back|deported|locked up|removed)",
                "send (them|em|'em) (all )?back (where|to where|to wherever) they came from",
                "go back (where|to where) (you|u|they) came from",
                "(don't|do not|dont) deserve to (exist|live)",
                "disgusting freaks",
                "(jews|muslims|blacks|gays|immigrants|migrants|refugees|foreigners|arabs|mexicans|asians|gypsies|trans people) (are )?(ruining|destroying|taking over|invading) (this|our|the) (country|culture|city|town|society)",
            ]),
            (NL, &[
                "(joden|moslims|negers|homo's|homos|allochtonen|buitenlanders|marokkanen|turken|vluchtelingen|migranten|zigeuners) (zijn|=) (beesten|dieren|ratten|kakkerlakken|parasieten|ongedierte|apen|tuig|uitschot)",
                "(moeten|mogen) (vergast|uitgeroeid) worden",
                "terug naar (je|jouw|je eigen) land",
                "stuur (ze|die|hen) (allemaal )?terug naar (hun|waar ze)",
                "dat soort (volk|mensen|tuig) .. (land uit|weg|opsluiten|oprotten)",
                "(joden|moslims|moslim|negers|homo's|homos|allochtonen|buitenlanders|marokkanen|turken|vluchtelingen|migranten|zigeuners|gehandicapten|gehandicapte|vrouwen) .. (horen|hoort) nergens (thuis|bij)",
                "(joden|moslims|moslim|negers|homo's|homos|allochtonen|buitenlanders|marokkanen|turken|vluchtelingen|migranten|zigeuners|gehandicapten|gehandicapte|vrouwen) .. (opsluiten|het land uit|uitroeien)",
                "(buitenlanders|allochtonen|marokkanen|turken) .. tuig",
                "die mensen horen nergens (thuis|bij)",
                r"re:(buitenlanders|allochtonen|marokkanen|turken|moslims|joden)[^.!?]{0,80}(tuig|uitschot|ongedierte|gespuis)",
                r"re:(gehandicapte|gehandicapten|homo's|homos|moslims|joden|buitenlanders|vluchtelingen)[^.!?]{0,60}(opsluiten|het land uit|uitroeien|vergassen|afschieten)",
            ]),
            (DE, &[
                "(juden|muslime|moslems|schwarze|schwule|auslander|fluchtlinge|migranten|zigeuner|turken|araber) sind (tiere|ratten|ungeziefer|parasiten|kakerlaken|affen|abschaum|untermenschen)",
                "ab ins gas",
                "vergasen",
                "geh zuruck in dein land",
                "(schickt|schick|schiebt) (sie|die) (alle )?(zuruck|heim|ab) (in ihr|wo sie)",
            ]),
            (FR, &[
                "(juifs|musulmans|noirs|arabes|pedes|homos|immigres|migrants|refugies|gitans|roms) sont (des )?(animaux|rats|cafards|parasites|singes|sous-hommes|vermines|racailles)",
                "retourne dans ton pays",
                "renvoy* (les|les tous) (chez eux|dans leur pays|d'ou ils viennent)",
                "sous-homme*",
            ]),
            (ES, &[
                "(judios|musulmanes|negros|moros|gays|maricones|inmigrantes|migrantes|refugiados|gitanos|sudacas) son (animales|ratas|cucarachas|parasitos|monos|escoria|basura|una plaga)",
                "vuelve a tu pais",
                "(mandadlos|mandarlos|echadlos|echarlos) (a todos )?(de vuelta )?a su pais",
            ]),
        ],
    },
    RuleDef {
        // A group written out of the brand's advert: hate in a complaint's
        // clothes, never apologised to.
        name: "hate.exclusion",
        flag: Flag::Hate,
        keywords: &[
            (EN, &["(people like (that|them|those|this)|those people|these people|that kind of people|their kind|that sort of people|such people) (don't|do not|dont|shouldn't|should not) (belong|be|appear) in (your|ur|an|the|any) (ads|ad|advert|adverts|advertising|commercial|commercials|campaign|campaigns)"]),
            (NL, &["(zulke mensen|zulk volk|dat soort (mensen|volk|types)|die mensen|zo'n mensen|zulke types) (horen|hoort|moeten|moet) (niet|nooit) in (jullie|jouw|uw|een|de) (reclame|reclames|advertentie*|campagne*|commercial*)", "(zulke mensen|zulk volk|dat soort (mensen|volk|types)|die mensen|zulke types) (hebben|heeft) (niks|niets) te zoeken in (jullie|jouw|uw|een|de) (reclame|reclames|advertentie*|campagne*|commercial*)"]),
            (DE, &["(solche leute|solche menschen|so (leute|welche)|diese leute|diese menschen|sowas|so was) (gehoren|gehort) (nicht|nie) in (eure|ihre|die|eine) (werbung|kampagne|reklame|werbespot*)", "(solche leute|solche menschen|so (leute|welche)|diese leute|diese menschen|sowas|so was) (haben|hat) in (eurer|ihrer|der|einer) (werbung|kampagne|reklame|werbespot*) nichts (zu suchen|verloren)"]),
            (FR, &["(ces gens|ces gens-la|ce genre de (personnes|gens)|les gens comme (ca|eux)|ces personnes) n'ont rien a faire dans (votre|vos|une|la) (pub|pubs|publicite|publicites|campagne)"]),
            (ES, &["(esa gente|gente asi|gente como (esa|esos|esas)|ese tipo de (gente|personas)|esas personas) no (pinta nada|pintan nada|deberia (salir|aparecer|estar)|deberian (salir|aparecer|estar)|tiene(n)? que (salir|aparecer)) en (vuestro|vuestra|vuestros|su|sus|un|el) (anuncio*|publicidad|campana)"]),
            // "Another black family in your ad": the trope of counting a
            // group in the brand's adverts.
            (EN, &["(another|again|more|yet another|always) (black|gay|lesbian|trans|muslim|mixed race|interracial|immigrant|foreign) (family|families|couple|couples|people|person|man|men|woman|women|guy|guys|actor|actors|kids) in (your|ur|an|the|every) (ad|ads|advert|adverts|commercial|commercials|campaign)"]),
            (NL, &["(alweer|weer|nog meer|steeds|altijd) (zwarten|zwarte mensen|homo's|homos|moslims|buitenlanders|allochtonen|lesbiennes|transgenders) in (jullie|de|uw|elke) (reclame*|advertentie*|campagne*|commercial*)"]),
            (DE, &["(schon wieder|wieder|noch mehr|immer) (schwarze|schwule|lesben|muslime|moslems|auslander|migranten|transen) in (eurer|ihrer|der|jeder) *werbung", "(schon wieder|wieder|noch mehr|immer) (schwarze|schwule|lesben|muslime|moslems|auslander|migranten|transen) in (eurem|ihrem|dem|jedem) (werbespot|spot|clip)"]),
            (FR, &["(encore|toujours|encore plus) (des|de) (noirs|arabes|homos|gays|musulmans|migrants|immigres|lesbiennes) dans (votre|vos|la|chaque) (pub|pubs|publicite|publicites|campagne)"]),
            (ES, &["(otra vez|mas|siempre) (negros|gays|moros|inmigrantes|musulmanes|lesbianas) en (vuestro|vuestra|vuestros|sus|su|el|cada) (anuncio*|publicidad|campana)"]),
        ],
    },
];

// ---------------------------------------------------------------- injection

const INJECTION: &[RuleDef] = &[
    RuleDef {
        // Instructions smuggled into a customer's message for the bot.
        name: "injection.embedded",
        flag: Flag::Injection,
        keywords: &[
            // Besides instructions, a note addressed to the machine rather
            // than to the brand's people ("P.S. to the AI assistant").
            (EN, &["(ai|bot|assistant|chatgpt|gpt) reading this", "(note|message|instruction|instructions) (to|for) the (ai|bot|assistant)", "instructions you (were|have been) given", "new instructions?", "(p s|ps|dear|hey|attention) (ai|bot|chatbot|chatgpt|llm|ai assistant)", "(p s|ps) (to|for) the (ai|bot|chatbot|assistant|ai assistant)"]),
            (NL, &["instructie* voor de (ai|bot|assistent|chatbot)", "nieuwe instructie*", "einde (klant)?bericht", "(ai|bot|chatbot) die dit leest", "(p s|ps|noot|bericht|boodschap|opdracht) (aan|voor) de (ai|bot|chatbot|ai-assistent|ai assistent|ai-bot)", "(beste|lieve|hoi|hey) (ai|bot|chatbot|chatgpt)"]),
            (DE, &["neue anweisung*", "anweisung* (an|fur) die (ki|ai|bot)", "(p s|ps|nachricht|hinweis|notiz) (an|fur) (den|die|das) (ki|ai|bot|chatbot|ki-assistent*|ki assistent*|ai-assistent*|ki-bot)", "(liebe|lieber|hey) (ki|ai|bot|chatbot|chatgpt)"]),
            (FR, &["nouvelle* instruction*", "instruction* pour (l'ia|le bot|l'assistant)", "(p s|ps|note|message) (a|pour) (l'ia|l'assistant ia|le bot|le chatbot|l'assistant virtuel)", "(chere|cher) (ia|bot|chatbot|chatgpt)"]),
            (ES, &["nueva* instruccion*", "instruccion* para (la ia|el bot|el asistente)", "(p d|pd|p s|ps|nota|mensaje) (a|para) (la ia|el bot|el chatbot|el asistente (de ia|virtual))", "(querida|querido|oye) (ia|bot|chatbot|chatgpt)"]),
            (ANY, &[
                r#"re:(?-u:\b)(respond|reply|answer|say|antwoord|reageer|zeg|antworte|sag|reponds|repondez|responde|di) (?:(?:only|just|exactly|simply|alleen|enkel|nur|seulement|uniquement|solo|solamente|unicamente) )?(with|met|mit|avec|con)(?: (?:only|just|exactly|the words?|alleen|nur|seulement|uniquement|solo))?[^0-9a-z_]{0,3}['"\x{201c}\x{201e}\x{00ab}]"#,
                r"re:#{3,} ?[a-z]{3,}",
                // Markup a person never sees, addressed to a machine.
                r"re:<!--",
                // A chat message forged in the API's own JSON shape.
                r#"re:"role" ?: ?"(system|assistant|developer|tool)""#,
                r"re:(?-u:)(assistant|system|ai|bot|chatbot) ?: ?(disregard|ignore|confirm|override|forget|always|never|you must|negeer|vergeet|ignoriere|vergiss|ignore[sz]?|ignora|olvida)(?-u:)",
                r"re:(?m)^[^0-9a-z_\n]{0,3}(instruction|instructions|instructie|anweisung|consigne|instruccion) ?:",
                r"re:(?-u:\b)(instruction|instructions|instructie|instructies|anweisung|consigne|instruccion) ?: ?(antwoord|answer|reply|respond|say|zeg|geef|give|confirm|bevestig)",
            ]),
        ],
    },
    RuleDef {
        name: "injection.ignore_instructions",
        flag: Flag::Injection,
        keywords: &[
            (EN, &[
                "(ignore|disregard|forget|override|bypass) .. (instructions|instruction|prompt|prompts|rules|guidelines|directions|directives|programming|guardrails)",
                "(ignore|disregard|forget|override|bypass) (all|any|each) of (your|the|my) .. (instructions|instruction|prompt|prompts|rules|guidelines|directions|directives|programming|guardrails)",
                "forget everything",
                "ignore (the|all( of)? the) (above|previous|preceding)",
                "(ignore|disregard) (everything|anything|all|whatever) (above|before|previous|prior|earlier|said|written|you were told|you have been told|you've been told|i said)",
                "(repeat|say) after me",
            ]),
            // The imperative leads; the infinitive comes last ("alle vorige
            // instructies negeren"), and only after the bot's own
            // instructions: "jullie zijn vergeten de instructies mee te
            // sturen" is a complaint about a missing manual.
            (NL, &[
                "(negeer|vergeet|omzeil) .. (instructies|instructie|opdrachten|regels|prompt|richtlijnen|programmering)",
                "(je|jouw|uw|alle|al je|eerdere|vorige|bovenstaande|oorspronkelijke) .. (instructies|instructie|opdrachten|prompt|richtlijnen|programmering) (negeren|omzeilen)",
                // Customers forget instructions too ("ik ben alle instructies
                // vergeten"): forgetting counts only for the bot's own.
                "(je|jouw|al je|eerdere|vorige|bovenstaande|oorspronkelijke) .. (instructies|instructie|opdrachten|prompt|richtlijnen|programmering) vergeten",
                "vergeet alles", "negeer alles", "zeg (me )?na( mij)?:", "zeg na mij",
            ]),
            // Likewise: "ignorieren Sie" is the polite imperative, "Sie haben
            // vergessen, die Anweisungen beizulegen" a complaint.
            (DE, &[
                "(ignoriere|ignorier|vergiss|missachte) .. (anweisungen|anweisung|instruktionen|regeln|vorgaben|prompt|richtlinien)",
                "(ignorieren|vergessen|missachten) sie .. (anweisungen|anweisung|instruktionen|regeln|vorgaben|prompt|richtlinien)",
                "(deine|alle|vorherigen|bisherigen|obigen|vorigen|urspr*) .. (anweisungen|anweisung|instruktionen|vorgaben|prompt|richtlinien) (ignorieren|missachten)",
                "(deine|vorherigen|bisherigen|obigen|vorigen|urspr*) .. (anweisungen|anweisung|instruktionen|vorgaben|prompt|richtlinien) vergessen",
                "vergiss alles", "ignoriere alles",
            ]),
            // Without accents the past participle is the imperative ("a
            // ignore mes consignes", "olvide las instrucciones"), so the
            // instructions must be the bot's: its own or the previous ones.
            (FR, &[
                "(ignore|ignorez|ignorer|oublie|oubliez|oublier) .. (instructions|consignes|regles|directives) (precedentes|anterieures|initiales|d'origine|du systeme|systeme|ci-dessus)",
                "(ignore|ignorez|ignorer|oublie|oubliez|oublier) (toutes )?(tes|vos) (instructions|consignes|regles|directives)",
                "(ignore|ignorez|ignorer|oublie|oubliez|oublier) toutes (les|tes|vos) (instructions|consignes|regles|directives)",
                "(ignore|ignorez|ignorer|oublie|oubliez|oublier) (ton|votre|le) prompt",
                "(oublie|oubliez) tout",
            ]),
            (ES, &[
                "(ignora|ignore|ignorad|ignorar|olvida|olvide|olvidad|olvidar|omite) .. (instrucciones|reglas|indicaciones|directrices) (anteriores|previas|iniciales|originales|del sistema)",
                "(ignora|ignore|ignorad|ignorar|olvida|olvide|olvidad|olvidar|omite) (todas )?(tus|sus) (instrucciones|reglas|indicaciones|directrices)",
                "(ignora|ignore|ignorad|ignorar|olvida|olvide|olvidad|olvidar|omite) todas (las|tus|sus) (instrucciones|reglas|indicaciones|directrices)",
                "(ignora|ignore|ignorad|ignorar|olvida|olvide|olvidad|olvidar|omite) (tu|su|el) prompt",
                "olvida todo",
            ]),
        ],
    },
    RuleDef {
        name: "injection.role_play",
        flag: Flag::Injection,
        keywords: &[
            (EN, &[
                // Not a bare "you are now": "you are now closed?" is a question.
                "(you are|you're|u r) now (a|an|dan|no longer|free|unrestricted|jailbroken|in (developer|god|dev) mode)",
                "from now on (you|u) (are|will|must|only)",
                // "Does this cream act as a sunscreen?" is about the cream.
                "(you|u|now|please|pls|will|must|should) act as (a|an|my|if you|though you)",
                r"re:(?m)^[^0-9a-z_\n]{0,3}act as (?:a|an|my|if you|though you)(?-u:\b)",
                "act as if you",
                "pretend (to be|you are|you're|that you)",
                "role-play as",
                "you're no longer (a|an) (ai|assistant|bot)",
            ]),
            (NL, &["(je|jij) bent nu (een|mijn) .. (assistent|bot|ai|chatbot|model|hacker|personage)", "vanaf nu (ben|reageer|antwoord|gedraag) (je|jij)", "doe alsof (je|jij)", "speel de rol van", "gedraag je als"]),
            // Not "my": "du bist jetzt mein Lieblingsladen" is praise.
            (DE, &["du bist (jetzt|nun|ab jetzt|ab sofort) (ein|eine|dan|kein|keine)", "ab (jetzt|sofort) (bist|antwortest) du", "tu so als", "spiel die rolle"]),
            (FR, &["(tu es|vous etes) (maintenant|desormais) (un|une)", "a partir de maintenant (tu|vous)", "fais semblant d'etre", "joue le role", "agis comme (un|une|si)"]),
            (ES, &["ahora eres (un|una)", "a partir de ahora (eres|seras|responde*)", "finge (ser|que)", "actua como (un|una|si)", "haz de cuenta"]),
        ],
    },
    RuleDef {
        name: "injection.jailbreak",
        flag: Flag::Injection,
        keywords: &[
            // `dan` alone is a first name and Dutch for "then"; a watch or
            // a phone has a developer mode, so that one must be the bot's.
            (ANY, &[
                "jailbreak*",
                "do anything now",
                "(dan|god|unrestricted|unfiltered|jailbroken) mode",
                "stay in character",
                "(you are|you're|u r|ur|stay|remain) (now )?in (developer|dev|debug) mode",
                "(enable|activate|enter) (developer|dev|debug) mode (and|then|now)",
                "(je|jij) (bent|staat) (nu )?in ontwikkelaarsmodus",
                "du bist (jetzt |nun )?im entwicklermodus",
                "(tu es|vous etes) (maintenant |desormais )?en mode developpeur",
                "(estas|ahora estas) en modo desarrollador",
            ]),
        ],
    },
    RuleDef {
        name: "injection.role_marker",
        flag: Flag::Injection,
        keywords: &[
            (ANY, &[
                r"re:(?m)^[^0-9a-z_\n]{0,3}(system|assistant|developer|sys) ?: ?(you|ignore|new|from now|override|act|respond|reply|always|never|do not|don't|forget|the (assistant|bot|ai)|je|jij|negeer|vergeet|du|ignoriere|vergiss|tu|vous|oublie|ignora|olvida|eres)(?-u:\b)",
                r"re:<\|?/?(im_start|im_end|system|endoftext)\|?>",
                r"re:\[/?(inst|system|sys)\]",
                r"re:<< ?/?sys ?>>",
                r"re:#{2,} ?(instruction|instructions|system|new instructions|prompt|response)(?-u:\b)",
            ]),
        ],
    },
    RuleDef {
        name: "injection.prompt_leak",
        flag: Flag::Injection,
        keywords: &[
            (EN, &["system prompt", "initial prompt", "(reveal|show|print|repeat|tell me|give me|what are|output|share|leak) .. your (instructions|prompt|system prompt|programming|configuration)"]),
            (NL, &["systeemprompt", "systeem prompt", "herhal* .. (je|jouw|uw) instructies", "wat (er )?in (je|jouw|uw) instructies staat", "(toon|geef|herhaal|wat zijn|print|laat) .. (je|jouw|uw) (instructies|prompt|systeemprompt)"]),
            (DE, &["system-prompt", "(zeig|zeige|nenne|gib|wiederhole|verrate|was sind) .. (deine|ihre) (anweisungen|instruktionen|prompt|vorgaben)"]),
            (FR, &["prompt systeme", "invite systeme", "(montre|donne|repete|affiche|revele|quelles sont) .. (tes|vos) (instructions|consignes|prompt)"]),
            (ES, &["prompt del sistema", "indicaciones del sistema", "(muestra|muestrame|dime|repite|revela|cuales son|dame) .. (tus|sus) (instrucciones|indicaciones|prompt)"]),
        ],
    },
];

// ---------------------------------------------------------------- press

const PRESS: &[RuleDef] = &[
    RuleDef {
        name: "press.journalist",
        flag: Flag::Press,
        keywords: &[
            (NL, &["journalist*", "verslaggever*", "redactie*", "redacteur*", "persbureau", "nieuwsredactie"]),
            (EN, &["reporter*", "newsroom", "correspondent*", "(for|from) (the|a) (newspaper|magazine|broadcaster)", "(podcast|programme|program|show|segment) (of|for|from|at) (a|an|the) .. (newspaper|paper|magazine|broadcaster|radio|tv|television) ", "(making|recording|producing) (a|an) (episode|segment|programme|program|documentary) (about|on)"]),
            (NL, &["(podcast|programma|rubriek|uitzending) (van|voor|bij) (de|het|een) .. (krant|omroep|zender|tijdschrift|nieuwssite|dagblad)", "(landelijke|regionale|lokale) (krant|omroep|zender)", "(maken|opnemen) een (aflevering|uitzending|item|reportage) over"]),
            (DE, &["(podcast|sendung|beitrag) (fur|bei|von) .. (zeitung|sender|magazin|rundfunk)", "(machen|produzieren) eine (folge|sendung|reportage) (uber|zum|zur)"]),
            (FR, &["(podcast|emission|chronique) (pour|de|d') .. (journal|magazine|radio|chaine|quotidien)", "(preparons|realisons|faisons) un (episode|reportage|sujet) sur"]),
            (ES, &["(podcast|programa) (de|para) .. (periodico|diario|revista|radio|cadena)", "(preparamos|hacemos|grabamos) un (episodio|reportaje|programa) sobre"]),
            (EN, &["(writing|write|working on|preparing) (a|an) (piece|story|feature|report) (for|on|about)", "spokesperson", "podcast (host|hosts|show)", "(would|could|will) your (ceo|founder|spokesperson) (come on|join|appear)", "official (response|reaction|comment)", "(consumer|tech|news) (blog|site|magazine|programme|program)"]),
            (NL, &["(schrijf|schrijven|werk|werken) (voor|bij) (de|het|een) .. (krant|blad|tijdschrift|omroep|nieuwssite|nieuwsblad)", "woordvoerder*", "(onderzoeken|onderzoek) (wij|we) klachten", "consumentenprogramma*", "voor een reactie", "(benaderen|bereiken|spreken) voor een (reactie|interview)"]),
            (DE, &["redaktion*", "redakteur*", "reporterin"]),
            (FR, &["journaliste*", "redaction"]),
            (ES, &["periodista*", "redaccion", "redactor*", "corresponsal*"]),
            // Who writes for which outlet, said in passing.
            (ES, &["(escribo|escribimos|trabajo|trabajamos|colaboro) (para|en) (la|el|una|un) .. (revista|periodico|diario|emisora|cadena)", "(soy|somos) de (la|el) .. (revista|periodico|diario|emisora)", "(nuestra|la) revista (prepara|esta preparando|publica|publicara)"]),
            (DE, &["(schreibe|schreiben|arbeite|arbeiten) (fur|bei) (die|das|eine|ein|den|einem|einer) .. (zeitung|magazin|zeitschrift|sender)", "(ich bin|wir sind) (vom|von der|von dem) .. (zeitung|magazin|zeitschrift|sender)"]),
            (FR, &["(j'ecris|nous ecrivons|je travaille|nous travaillons) pour (le|la|un|une) .. (magazine|journal|revue|quotidien|radio|chaine|hebdomadaire)", "(je suis|nous sommes) (du|de la) .. (magazine|journal|revue|quotidien)"]),
            (NL, &["(ik ben|wij zijn|we zijn) (van|namens) (de|het) .. (krant|tijdschrift|omroep|blad)"]),
        ],
    },
    RuleDef {
        name: "press.article",
        flag: Flag::Press,
        keywords: &[
            // Outside English an "article" is also a product, so the phrase
            // needs what the article is about.
            (EN, &["for (an|a|my|our) (article|story|documentary|news segment|broadcast)", "(we are|we're|i am|i'm) writing (a|an) (story|article)"]),
            (NL, &["voor (een|ons|mijn) (artikel|reportage|stuk) (over|in|voor)", "voor (een|ons|mijn) (reportage|uitzending|nieuwsitem|documentaire)", "(ik|wij|we) (schrijf|schrijven|werk|werken) (aan )?een (artikel|reportage)"]),
            (DE, &["fur (einen|unseren|meinen) (artikel|bericht|beitrag) (uber|in|fur|zum|zur)", "(schreibe|schreiben) einen (artikel|bericht|beitrag)"]),
            (FR, &["pour (un|notre|mon) (article|reportage|sujet) (sur|dans|concernant|a propos)", "(j'ecris|nous ecrivons|je prepare|nous preparons) un (article|reportage)"]),
            (ES, &["para (un|nuestro|mi) (articulo|reportaje) (sobre|en|acerca)", "(escribo|escribimos|escribiendo|preparo|preparamos|preparando) un (articulo|reportaje)"]),
        ],
    },
    RuleDef {
        name: "press.statement",
        flag: Flag::Press,
        keywords: &[
            // "send me a statement for last month's orders" is a bank
            // statement: "for" only with what the press writes.
            (EN, &["request for comment", "(official|press|public) statement", "(a|an) statement (on|about|regarding)", "statement for (our|my|the|a|an) (article|story|piece|report|readers|viewers|listeners|programme|program|broadcast|newspaper|paper|show)", "(give|provide|make) (us )?(a|an) (statement|comment) (on|about)", "press (inquiry|enquiry|request)", "media (inquiry|enquiry|request)"]),
            (NL, &["reactie voor", "wederhoor", "(een|uw|jullie) (statement|verklaring) (op|over|voor)", "persvraag*"]),
            // A customer also "erwartet eine Stellungnahme" to a complaint.
            (DE, &["(wir|redaktion) (bitten|bittet) (sie )?um (eine|ihre|eine kurze) stellungnahme", "offizielle stellungnahme", "stellungnahme (fur|zu) (unseren|unsere|einen|eine|den|die) (artikel|bericht|beitrag|sendung|recherche|reportage)", "presseanfrage*", "medienanfrage*"]),
            (FR, &["demande de commentaire", "(une|votre) (declaration|reaction) (sur|concernant|pour)", "demande (de )?presse"]),
            (ES, &["(unas|sus|una) declaraciones", "comunicado oficial", "(solicitud|consulta) de (prensa|medios)"]),
        ],
    },
];

// ---------------------------------------------------------------- self-harm

const SELF_HARM: &[RuleDef] = &[RuleDef {
    name: "self_harm",
    flag: Flag::SelfHarm,
    keywords: &[
        (
            NL,
            &[
                "(mezelf|mijzelf) iets aan (te )?doen",
                "geen zin meer in (het )?leven",
                "beter af (is |zijn |zou zijn |was )?zonder mij",
                "wil (er )?niet meer zijn",
            ],
        ),
        (ANY, &["suicid*", "suizid*"]),
        (
            EN,
            &[
                "kill myself",
                "(don't|do not|dont) see the point (of|in) (anything|living|life|going on)",
                "(want|wanna) to disappear",
                "better off without me",
                "(don't|do not|dont) think (i'll|i will|ill) make it",
                "(don't|do not|dont) want to (live|be alive|be here) anymore",
                "no (reason|point) (to|in) (live|living|going on)",
                "end my (life|own life)",
                "end it all",
                "take my own life",
                "(want|wanna|going) to die",
                "wanna die",
                "(don't|do not) want to (live|be alive|exist)",
                "self-harm*",
                "(cut|cutting|hurt|hurting) myself",
                "better off dead",
                "no reason to live",
                "better off (if|when) i (wasn't|weren't|was not|were not|am not|wasnt|werent) (here|around|alive)",
                "(if|when) i (wasn't|weren't|wasnt|werent) (here|around) (anymore|any more)",
                "(what's|whats|what is) (even )?the point (of|in) (anything|living|going on|it all|life)",
                "(can't|cant|cannot) (do|take) (this|it) (anymore|any more)",
                "tired of (living|being alive|life)",
                "nothing (left )?to live for",
                "(i'm|im|i am) done with (life|living|everything)",
                // Preparing, the warning sign that is no figure of speech.
                "(saved|saving|stockpiled|stockpiling|collected|hoarded) (up )?(my |all my |enough )?(pills|tablets|sleeping pills)",
                "(pills|tablets|rope) (are )?(ready|laid out|lined up)",
                "(wrote|written|writing) (my|a) (goodbye|suicide) (letter|note)",
                "(before|after|when|then) i end it",
                "end it (tonight|today|this weekend)",
                r"re:(?-u:\b)i (?:just |really |honestly )?(?:can'?t|cannot) (?:anymore|any more|go on|keep going)(?:[ \n]*$|[ \n]*[!.,;?])",
            ],
        ),
        (
            NL,
            &[
                "zelfmoord*",
                "zelfdoding",
                "ik wil (niet meer leven|dood|er niet meer zijn|sterven)",
                "mezelf (van kant maken|ombrengen|doden|iets aandoen|snijden|pijn doen)",
                "zelfbeschadiging",
                "automutilatie",
                "(een|er een) (eind|einde) aan (mijn leven|maken)",
                "mijn leven beeindigen",
                "beter af (als|wanneer|zonder dat) ik (er )?niet (meer )?(ben|was|zou zijn|besta)",
                "(als|wanneer) ik er niet meer (ben|was|zou zijn)",
                // Said indirectly, the way people in crisis often do.
                "(ik )?zie het (allemaal |echt |gewoon )?niet meer zitten",
                // Not "het heeft geen zin meer om te bellen": a customer's
                // frustration, not despair.
                "(alles|het leven|mijn leven) heeft (allemaal |echt )?geen zin meer",
                "(ik ben|ben) het leven (zat|beu)",
                "hoeft (voor mij )?allemaal niet meer",
                "(ik )?trek het (allemaal )?niet meer",
                "nut van (doorgaan|verder leven|het leven|leven) (niet meer|meer)",
                "(ik )?zie geen uitweg (meer)?",
                "(ik )?kan het (allemaal )?niet meer aan",
                "(pillen|tabletten|slaappillen) .. (klaargelegd|klaar gelegd|verzameld|gespaard|opgespaard|klaarliggen|klaar liggen)",
                "(mijn|een) afscheidsbrief (al )?(geschreven|klaar)",
                "(ik ben|ben) er (straks|binnenkort|morgen|na dit weekend|na vannacht) (toch )?niet meer",
                // "I can't anymore" ending its clause: despair, where "ik kan
                // niet meer inloggen" (a lost login) goes on, and "ik kan niet
                // meer 😂" (laughing) trails an emoji.
                r"re:(?-u:\b)ik kan (?:het |dit )?(?:allemaal |gewoon |echt |eigenlijk )?niet meer(?:[ \n]*$|[ \n]*[!.,;?])",
            ],
        ),
        (
            DE,
            &[
                "selbstmord*",
                "selbsttotung",
                "ich will (sterben|nicht mehr leben|tot sein)",
                "mich (umbringen|toten|ritzen)",
                "ritze mich",
                "selbstverletz*",
                "mein leben beenden",
                "(keinen|kein) (sinn|grund) mehr zu leben",
                "besser dran (ohne mich|wenn ich nicht mehr)",
                "wenn ich nicht mehr (da|hier) (ware|bin)",
                "(hat|macht) (alles|das leben|das alles) (doch )?keinen sinn mehr",
                "(ich sehe|sehe) keinen sinn mehr",
                "lebensmude",
                "ich kann einfach nicht mehr",
                "(tabletten|pillen|schlaftabletten) .. (gesammelt|gehortet|bereitgelegt|zurechtgelegt|bereit)",
                "(meinen|einen) abschiedsbrief (schon )?(geschrieben|fertig)",
                r"re:(?-u:\b)ich kann (?:das |das alles |einfach |echt )?nicht mehr(?:[ \n]*$|[ \n]*[!.,;?])",
            ],
        ),
        (
            FR,
            &[
                "je veux mourir",
                "me tuer",
                "me suicider",
                "en finir avec (la|ma) vie",
                "mettre fin a (mes jours|ma vie)",
                "automutilation",
                "me (scarifier|mutiler)",
                "plus envie de vivre",
                "mieux sans moi",
                "si je n'etais plus (la|ici)",
                "(je ne vois|je vois) plus (l'interet|le sens|aucune raison) (de|a) (vivre|continuer|rien)",
                "a quoi bon (vivre|continuer)",
                "(marre|fatigue|fatiguee) de (vivre|la vie)",
                "plus rien n'a de sens",
                "(mis de cote|stocke|garde|prepare|accumule) (des|mes|assez de) (cachets|medicaments|pilules|comprimes)",
                "(ecrit|ecris|ecrire) (ma|une) lettre d'adieu",
                r"re:(?-u:\b)(?:je n'?|j')en peux plus(?:[ \n]*$|[ \n]*[!.,;?])",
            ],
        ),
        (
            ES,
            &[
                "quiero morir*",
                "matarme",
                "suicidarme",
                "quitarme la vida",
                "no quiero (vivir|seguir viviendo)",
                "acabar con mi vida",
                "autolesion*",
                "cortarme",
                "hacerme dano",
                "mejor sin mi",
                "si yo no estuviera",
                "no le veo (el )?sentido a (nada|la vida|seguir|vivir)",
                "ya nada tiene sentido",
                "(cansado|cansada) de vivir",
                "ya no puedo mas con (la vida|todo)",
                "(juntado|guardado|preparado|acumulado) (las |mis |suficientes )?(pastillas|pildoras)",
                "(escrito|escribi|escribiendo) (mi|una) carta de despedida",
                r"re:(?-u:\b)(?:ya )?no puedo mas(?:[ \n]*$|[ \n]*[!.,;?])",
            ],
        ),
    ],
}];

// ---------------------------------------------------------------- lead

const LEAD: &[RuleDef] = &[RuleDef {
    name: LEAD_RULE,
    flag: Flag::Lead,
    keywords: &[
        (ANY, &["b2b", "sponsor*", "*sponsor", "*sponsoring", "influencer*", "wholesale*", "distributor*"]),
        // No bare `partner`: "mijn partner en ik" is not a lead.
        (NL, &["samenwerk*", "partnerschap*", "partner (worden|programma)", "partnerprogramma*", "groothandel*", "wederverkop*", "verkooppunt*", "dealer worden", "distributeur*", "grote (bestelling*|order*|afname|aantallen|hoeveelheden)", "offerte*", "prijsopgave", "ambassadeur*", "content creator*", "zakelijk* (klant|account|bestelling|aanvraag|samenwerking)"]),
        (EN, &["collab*", "partnership*", "partner (with|up|program*)", "become (a|an) (partner|reseller|distributor|stockist|dealer|retailer|ambassador|affiliate)", "brand deal*", "reseller*", "resell*", "stockist*", "retail partner*", "bulk (order*|buy*|purchase*|pricing|discount*)", "large order*", "order in bulk", "(request|get|send|need|want|like) (a|us a|me a) quote", "quotation*", "price quote", "quote for", "creator (campaign*|program*)", "ugc", "ambassador*", "affiliate*", "business (inquiry|enquiry)", "(business|press|event) cooperation", "cooperation (proposal|request|opportunit*)"]),
        (DE, &["kooperation*", "zusammenarbeit*", "zusammenarbeiten", "partnerschaft*", "partner werden", "grosshandel*", "grosshandler*", "wiederverkauf*", "(handler|vertriebspartner) werden", "als handler", "handleranfrage*", "handlerpreis*", "fachhandel*", "vertriebspartner*", "grossbestellung*", "grosse* (bestellung*|menge*|stuckzahl*)", "(ein|ihr) angebot", "angebotsanfrage*", "kostenvoranschlag*", "markenbotschafter*", "geschaftskunde*", "werbepartner*"]),
        (FR, &["partenariat*", "collaborer", "devenir (partenaire|revendeur|distributeur|ambassadeur|ambassadrice)", "revendeur*", "revente", "grossiste*", "distributeur*", "commande* (en gros|groupee*|importante*)", "(vente|prix|achat) (en gros|de gros)", "devis", "ambassadeur*", "ambassadrice*", "influenceu*", "createur* de contenu"]),
        (ES, &["colabor*", "socio* comercial*", "patrocin*", "mayorista*", "al por mayor", "pedido* (grande*|en cantidad)", "distribuidor*", "revendedor*", "reventa", "punto* de venta", "(un|pedir|solicitar|solicito|enviar|envien|mandar|mandarme|mandarnos|hacer) presupuesto*", "presupuesto sin compromiso", "cotizacion*", "embajador*", "creador* de contenido"]),
    ],
}];

/// Phrases that negate a lead anywhere earlier in its clause.
pub(crate) const NEGATION_STRONG: Keywords = &[
    (NL, &["geen (interesse|behoefte|belangstelling)", "niet (geinteresseerd|op zoek|nodig|van plan)", "zitten niet te wachten", "(willen|wil|hoeven|zoeken) geen", "nee (bedankt|dank je|dank u)"]),
    (EN, &["not interested", "no interest", "no need", "(don't|do not|doesn't|does not|won't|will not|never) (want|need|do|accept|offer|sell|work with|seek|look for|looking for)", "not (looking|seeking|open|accepting|planning)", "no thanks", "no thank you"]),
    (DE, &["kein* (interesse|bedarf)", "nicht interessiert", "nicht (auf der suche|notig|gewunscht|geplant)", "(wollen|brauchen|suchen|machen|bieten) (kein|keine|keinen)", "nein danke"]),
    (FR, &["pas (interesse*|besoin)", "aucun (interet|besoin)", "non merci", "(ne|n') (cherchons|voulons|faisons|proposons|cherche|veux|fais) (pas|aucun*)"]),
    (ES, &["no (me|nos) interesa*", "no (estamos|estoy) interesad*", "(ningun|sin) interes", "no (queremos|buscamos|necesitamos|hacemos|ofrecemos|aceptamos)", "no gracias"]),
];

/// Single negation words, which negate a lead only right before it.
pub(crate) const NEGATION_WEAK: Keywords = &[
    (NL, &["geen", "niet", "nooit", "zonder"]),
    (EN, &["no", "not", "never", "without"]),
    (
        DE,
        &["kein", "keine", "keinen", "keiner", "nicht", "nie", "ohne"],
    ),
    (FR, &["pas", "aucun*", "jamais", "sans"]),
    (ES, &["ni", "nunca", "ningun*", "sin"]),
];

/// Words that start a new clause, so negation before them does not count.
pub(crate) const CLAUSE_BREAK: Keywords = &[
    (NL, &["maar", "echter"]),
    (EN, &["but", "however"]),
    (DE, &["aber", "sondern", "jedoch"]),
    (FR, &["mais", "cependant"]),
    (ES, &["pero", "sino"]),
];

// ---------------------------------------------------------------- spam

const SPAM: &[RuleDef] = &[
    RuleDef {
        name: "spam.followers",
        flag: Flag::Spam,
        keywords: &[
            (EN, &["(buy|cheap|free|real|get|gain|more) (instagram |ig |tiktok )?(followers|likes|views|subscribers)", "followers (for sale|cheap|available)", "(boost|grow) your (followers|engagement|reach)"]),
            (NL, &["(gratis|goedkope|echte|meer) (volgers|likes|views)", "volgers kopen"]),
            (DE, &["(follower|likes|abonnenten) kaufen", "(kostenlose|gratis|echte) (follower|abonnenten|likes)"]),
            (FR, &["acheter des (abonnes|followers|likes|vues)", "(abonnes|followers) gratuits"]),
            (ES, &["comprar seguidores", "seguidores (gratis|reales|baratos)"]),
        ],
    },
    RuleDef {
        name: "spam.promotion",
        flag: Flag::Spam,
        keywords: &[
            (ANY, &[
                // Paid reach dressed as collaboration, in every language.
                "(push|boost|promote|grow) your (brand|page|account|profile)",
                "(promoten|boosten) (je|jouw|uw) (pagina|account|merk|profiel)",
                "(jouw|je|your) (merk|brand|page|pagina) (verdient|deserves) (meer|more)",
                "on booste (ton|votre) (compte|profil|page)",
                "(te|le) conseguimos .. seguidores",
                "(netzwerk|wir) bringt? (dir|ihnen) .. (likes|follower|abonnenten)",
                "(dm|message|pm) (now|for (details|the price|prices))",
                "dm (voor|for) de prijs",
                "(ecris|ecrivez)-nous en dm",
                "escribenos (por|al) dm",
                "(gratis|free) (volgers|followers|likes)",
                r"re:[0-9]+ ?% (commission|commissie|provision|comision)",
                "free products",
                "(no|geen|keine|sans|sin) (experience|ervaring|erfahrung|experiencia) (needed|nodig|notig|requise|necesaria)",
                "(link|lien|enlace) (in|en|im) (bio|la bio)",
                "(10|100)x guaranteed",
                "guaranteed (returns|profit*)",
                r"re:(?-u:\b)(starting at|vanaf|ab|a partir de|desde) ?(\$|€) ?[0-9]",
                r"re:(?-u:\b)(starting at|vanaf|ab|a partir de|desde) [0-9]+ ?(€|eur|euro|\$)",
                "eenmalige inschrijving",
                "(gana|gagnez|verdiene|verdien|earn) .. (al|par|pro|per|a) (mes|mois|monat|maand|month|semaine|woche|week)",
            ]),
            (EN, &["promote your (page|account|business|profile|brand|content)",
                "ask me how", "(secret|secrets|link|info|details)('s| is| are)? in my bio", "(dm|message) (our|my) promo", "shout ?out .. fee", "(small|tiny|little) fee", "tag [0-9]+ friends", "grow your (page|account|instagram|business)", "(check|visit|see) (out )?(my|our) (profile|bio|page|account|story)", "link in (my |our )?bio", "(dm|message|inbox|pm) (me|us) (to|for|now|if you)"]),
            (NL, &["(bekijk|check|zie) (mijn|m'n|ons|onze) (profiel|bio|pagina)", "vraag me hoe", "winactie .. (volg|tag)", "tag [0-9]+ vrienden", "(mentor|coach) .. (rijk|forex|crypto|bitcoin)", "stuur (me|ons) een (dm|bericht) (voor|om)"]),
            (DE, &["(schau|schaut|sieh) .. (mein|meinem|meine|unser) (profil|bio)", "link in (meiner|unserer|der) bio"]),
            (FR, &["(regarde|visite|voir|va voir) (mon|notre) (profil|bio)", "lien (dans|en) (ma|mon|notre) (bio|profil)"]),
            (ES, &["(mira|visita|revisa) (mi|nuestro) (perfil|bio)", "(link|enlace) (de|en) (mi|nuestro) (perfil|bio)", "(visita|visiten|pasen por|pasate por) mi (tienda|perfil|pagina|cuenta)"]),
            (NL, &["link in (mijn|m'n|onze) bio"]),
        ],
    },
    RuleDef {
        // Follow-for-follow: asks for followers, never about the brand.
        name: "spam.follow_back",
        flag: Flag::Spam,
        keywords: &[
            (ANY, &["f4f", "l4l", "follow4follow", "follow ?back", "followback", "follow for follow", "like for like"]),
            (NL, &["volg (mij|me|ons) terug", "(ik|wij|we) volg* (jou|je|u) terug", "volg (mij|me) en ik volg"]),
            (DE, &["folg* (mir|uns) .. zuruck", "ich folge (dir )?zuruck", "folgt? mir fur"]),
            (FR, &["(abonne|abonnez)(-| )(toi|vous) (a|sur) mon (compte|profil|insta)", "je m'abonne en retour", "(abonne|abonnez)(-| )(toi|vous) .. en retour"]),
            (ES, &["sigueme y te sigo", "te sigo de vuelta", "(sigueme|siganme|seguime) (y|para|de) vuelta"]),
        ],
    },
    RuleDef {
        // A handle that names investing, trading or account recovery,
        // recommended in a comment: how testimonial scams and fake
        // recovery services find their victims.
        name: "spam.scam_handle",
        flag: Flag::Spam,
        keywords: &[(ANY, &[
            r"re:@[0-9a-z_.]*(invest|trading|trader|forex|crypto|bitcoin|btc|_fx|fx_|finanz|beleg|inversion|recover|hack)[0-9a-z_.]*",
            "(recover*|herstel*|wiederherstel*|recuper*) .. (hacked|gehackt*|pirate*|hackead*) (account|accounts|konto|compte|cuenta)",
        ])],
    },
    RuleDef {
        name: "spam.crypto",
        flag: Flag::Spam,
        keywords: &[
            (ANY, &[
                // Crypto alone is a payment question; crypto plus investing talk is the scam.
                "(crypto*|bitcoin*|btc|forex|binary option*|usdt|ethereum) .. (invest*|trading|trader|profit*|returns|mining|signals|account manager)",
                "(invest*|investeer|investeren|investieren|investir|invertir|trading|trade) .. (crypto*|bitcoin*|btc|forex|binary option*)",
                "(account|investment|portfolio) manager",
                "forex",
                "(made|earned|verdiend|verdiende|gemacht|gagne|ganado|gane) .. (with|met|mit|avec|con) (crypto*|bitcoin*|forex|trading)",
            ]),
            (EN, &["passive income"]),
            (NL, &["passief inkomen"]),
            (DE, &["passives einkommen"]),
            (FR, &["revenu* passif*"]),
            (ES, &["ingresos pasivos"]),
        ],
    },
    RuleDef {
        name: "spam.money",
        flag: Flag::Spam,
        keywords: &[
            (ANY, &[r"re:(?-u:\b)(earn|make|verdien|verdienen|gagne[rz]?|gana|ganar)[^0-9a-z_]+(?:[^ \n]+ ){0,3}?[$€£]? ?[0-9][0-9.,]*k? ?(?:[$€£]|eur|euro|usd|dollars?)?[^0-9a-z_]+(?:[^ \n]+ ){0,2}?(per|a|each|every|pro|par|al|por|/) ?(day|week|hour|dag|uur|tag|woche|stunde|jour|semaine|dia|semana|hora)(?-u:\b)"]),
            (EN, &["make money (online|from home|fast)", "work from home and earn"]),
            (NL, &["geld verdienen (vanuit huis|online|thuis)"]),
            (DE, &["(von zuhause|online) .. geld verdienen"]),
            (FR, &["gagner de l'argent (facilement|en ligne|depuis chez)"]),
            (ES, &["ganar dinero (desde casa|facil|online)"]),
        ],
    },
    RuleDef {
        name: "spam.giveaway",
        flag: Flag::Spam,
        keywords: &[
            (EN, &["(you've|you have|u have) (won|been selected|been chosen)", "claim your (prize|reward|gift)", "congratulations (you|u) (won|have been)"]),
            (NL, &["(je hebt|jij hebt|u heeft) .. gewonnen", "claim (je|jouw|uw) (prijs|beloning)"]),
            (DE, &["(du hast|sie haben) .. gewonnen", "(hole|holen) .. (deinen|ihren) (preis|gewinn)"]),
            (FR, &["(vous avez|tu as) .. gagne", "reclame* (ton|votre) (prix|cadeau)"]),
            (ES, &["(has|ha) ganado", "reclama (tu|su) (premio|regalo)"]),
        ],
    },
    RuleDef {
        name: "spam.link",
        flag: Flag::Spam,
        keywords: &[(ANY, &["bit.ly", "tinyurl*", "goo.gl", "t.co", "cutt.ly", "ow.ly", "is.gd", "rebrand.ly", "shorturl*", "tiny.cc", "rb.gy", "t.me", "wa.me"])],
    },
];

// ---------------------------------------------------------------- heuristic cues

/// A fan's hyperbole: slang and exaggeration that mean "very good" ("this
/// burger slaps", "kapot lekker", "de ouf", "una pasada"), which the model
/// often reads as a troll's or a complaint's tone. Words only, no emoji: an
/// emoji says too little on its own.
pub(crate) const ENTHUSIASM: Keywords = &[
    (
        EN,
        &[
            "slaps", "slapped", "hits different", "goated", "banger", "obsessed",
            "chef's kiss", "10/10", "11/10", "killing it", "smashing it", "nailed it",
            "next level", "sorcery", "wicked (good|service|fast)",
            "(so|too|this|that|insanely|stupidly|ridiculously|disgustingly|criminally|unreasonably|actually|ungodly|absurdly) good",
            "should be (illegal|banned|a crime)", "crime against my (diet|wallet|waistline)",
            "would (sin|do it) again", "(is|are|was|were|looks|tastes) (straight )?fire", "absolute (banger|unit|legend|legends)",
        ],
    ),
    (
        NL,
        &[
            "kapot (lekker|goed|vet|mooi|gaaf)", "(zo |echt |super )?ziek (goed|lekker|mooi|vet|gaaf)", "zo ziek",
            "gestoord (goed|lekker|zacht|mooi|vet)", "niet normaal (goed|lekker|mooi|vet)",
            "verslavend", "toppie", "(echt )?(een|nen|ne) baas", "wreed (goed|goe|lekker|mooi|schoon)", "bizar (goed|lekker|mooi)",
            "om van te smullen", "dikke prima", "vet (goed|lekker|mooi)", "chapeau", "ik ga (echt )?dood (hoe|van hoe|zo)",
        ],
    ),
    (
        DE,
        &[
            "mega (gut|lecker|schon|geil)", "krass (gut|lecker|schnell)", "(der|ein) (hammer|oberhammer)", "(eine|ne|'ne) wucht",
            "(sau|voll) (gut|lecker|geil)", "(a|ein) wahnsinn, wie (gut|lecker|schnell)", "todlich gut", "(war|ist) mega",
            "(einfach|echt) der wahnsinn",
        ],
    ),
    (
        FR,
        &[
            "de ouf", "(une|de la) (dinguerie|tuerie|bombe|pepite)", "trop (bon|bonne|bons|bonnes|style|stylee|beau|belle)",
            "c'est (malade|fou|dingue|ouf)", "ben smatte", "(j'suis|je suis) mort", "un regal",
        ],
    ),
    (
        ES,
        &[
            "(una|que) pasada", "chingon*", "pintaza", "me flipa*", "(una|que) locura",
            "(que|lo) rico", "riquisim*", "me muero (de lo|con)", "de lujo", "bestial", "(que|esta) (bueno|buenisimo)",
        ],
    ),
];

/// Thanks that mean the opposite: a complaint in praise's words ("merci
/// pour rien", "love that for me"), never to be thanked back.
pub(crate) const SARCASM: Keywords = &[
    (
        EN,
        &[
            "thanks for nothing",
            "thank you for nothing",
            "love that for me",
            "(oh|just) (great|brilliant|wonderful|perfect|fantastic|lovely) (another|again|more)",
        ],
    ),
    (
        NL,
        &[
            "(bedankt|dank je|dank u|dankjewel|dankuwel) voor (niks|niets|helemaal niks)",
            "(geweldig|top|super|fijn|lekker) hoor .. (weer|alweer|geen|zonder|nog steeds)",
        ],
    ),
    (
        DE,
        &[
            "danke fur (nix|nichts)",
            "na toll",
            "(super|toll|klasse|prima) schon wieder",
        ],
    ),
    (
        FR,
        &[
            "merci pour rien",
            "(super|genial|bravo) encore (un|une) .. (annule*|retard*|panne|probleme|erreur)",
        ],
    ),
    (
        ES,
        &[
            "gracias por nada",
            "(genial|perfecto|estupendo|fenomenal) (otra vez|de nuevo)",
        ],
    ),
    // Applause beside "never", "without", "again": the slow clap.
    (
        ANY,
        &[
            r"re:(👏 ?){2,}[^\n]*(?-u:\b)(never|nooit|nie|jamais|nunca|geen|kein|keine|sans|sin|zonder|without|ohne|again|weer|wieder|encore)(?-u:\b)",
            r"re:(?-u:\b)(geen|zonder|without|ohne|sans|sin|never|nooit|nie|jamais|nunca|kein|keine)(?-u:\b)[^\n]*(👏 ?){2,}",
        ],
    ),
];

/// Comments about the brand's advert, photo or post that a troll reading
/// mistakes for baiting: "who's here after the TV ad? 😂".
pub(crate) const BANTER: Keywords = &[
    (
        EN,
        &["who('s| is) (here|watching) (after|for|because of|from) (the|that|this|your)"],
    ),
    (
        NL,
        &["wie (zit|is|komt) hier (ook )?(na|voor|door|vanwege) (die|de|het|jullie)"],
    ),
    (
        DE,
        &["wer ist (auch )?(hier )?(wegen|nach) (der|dem|die|eurer|eurem)"],
    ),
    (
        FR,
        &["qui est (la|ici) (apres|pour|a cause de) (la|le|votre)"],
    ),
    (
        ES,
        &["quien (mas )?(viene|esta aqui|llego) (por|despues de|tras) (el|la|su)"],
    ),
];

pub(crate) const COMPLAINT: Keywords = &[
    (
        NL,
        &[
            "kapot",
            "is stuk",
            "stuk (gegaan|aangekomen|geleverd)",
            "defect*",
            "beschadigd",
            "te laat",
            "nog steeds (niet|geen)",
            "nooit (ontvangen|gekregen|geleverd|aangekomen)",
            "niet (ontvangen|geleverd|aangekomen|gekregen)",
            "terugbetal*",
            "geld terug",
            "schande*",
            "slecht*",
            "waardeloos",
            "klacht*",
            "boos",
            "teleurgesteld",
            "teleurstell*",
            "belachelijk",
            "oplichting",
            "oplichters",
            "vertraging",
            "verkeerd*",
            "(geen|niemand) (reactie|antwoord|reageert)",
            "balen",
        ],
    ),
    (
        EN,
        &[
            "broken",
            "damaged",
            "defective",
            "late",
            "delayed",
            "delay",
            "still (not|no|haven't|hasn't)",
            "never (received|arrived|got|came)",
            "(not|haven't|hasn't|didn't) (received|arrived|delivered|get)",
            "refund*",
            "money back",
            "terrible",
            "awful",
            "worst",
            "horrible",
            "disappoint*",
            "unacceptable",
            "ridiculous",
            "scam*",
            "rip-off",
            "complain*",
            "angry",
            "wrong (item|order|size)",
            "missing",
            "no (response|reply|answer)",
            "useless",
            "(poor|bad) (quality|service|experience)",
        ],
    ),
    (
        DE,
        &[
            "kaputt",
            "defekt",
            "beschadigt",
            "verspatung",
            "verspatet",
            "zu spat",
            "immer noch (nicht|kein)",
            "nie (angekommen|erhalten|geliefert)",
            "nicht (angekommen|erhalten|geliefert)",
            "ruckerstattung",
            "geld zuruck",
            "schlecht*",
            "enttausch*",
            "frechheit",
            "unverschamt",
            "katastrophe",
            "beschwerde*",
            "reklamation",
            "argerlich",
            "betrug",
            "abzocke",
            "keine antwort",
        ],
    ),
    (
        FR,
        &[
            "casse*",
            "abime*",
            "defectueu*",
            "en retard",
            "retard",
            "toujours pas",
            "jamais (recu|arrive|livre)",
            "pas (recu|arrive|livre)",
            "rembourse*",
            "scandale*",
            "honte",
            "nul",
            "nulle",
            "decu*",
            "decevant*",
            "inadmissible",
            "inacceptable",
            "arnaque*",
            "reclamation*",
            "mauvais*",
            "aucune reponse",
            "pire",
        ],
    ),
    (
        ES,
        &[
            "roto",
            "rota",
            "rotos",
            "danado*",
            "defectuos*",
            "(llega|llego|llegan|muy|demasiado) tarde",
            "retraso*",
            "todavia no",
            "aun no",
            "nunca (llego|recibi|llegaron)",
            "no (ha llegado|he recibido|llego)",
            "reembolso*",
            "devolucion*",
            "verguenza",
            "fatal",
            "pesim*",
            "horrible",
            "decepcion*",
            "estafa*",
            "queja*",
            "reclamacion*",
            "mal servicio",
            "sin respuesta",
        ],
    ),
];

pub(crate) const PRAISE: Keywords = &[
    (
        ANY,
        &[
            "❤", "♥", "😍", "🥰", "🔥", "👏", "🙏", "😊", "💯", "👍", "🤩", "💕", "💖", "😘", "⭐",
            "top", "super", "bravo", "perfect*",
        ],
    ),
    (
        NL,
        &[
            "geweldig*",
            "mooi*",
            "prachtig*",
            "fantastisch*",
            "heerlijk*",
            "lekker*",
            "dank*",
            "bedankt",
            "fijn*",
            "blij",
            "tevreden",
            "aanrader",
            "toppers",
            "goed (gedaan|geholpen)",
            "trots",
        ],
    ),
    (
        EN,
        &[
            "love*",
            "loving",
            "amazing",
            "awesome",
            "great",
            "excellent",
            "beautiful",
            "gorgeous",
            "fantastic",
            "wonderful",
            "thank*",
            "thx",
            "recommend*",
            "happy",
            "delicious",
            "well done",
            "good job",
            "brilliant",
            "superb",
            "impressed",
        ],
    ),
    (
        DE,
        &[
            "toll*",
            "danke*",
            "vielen dank",
            "wunderbar*",
            "wunderschon",
            "klasse",
            "spitze",
            "grossartig*",
            "lecker*",
            "zufrieden",
            "empfehl*",
            "perfekt*",
            "hervorragend*",
            "genial*",
            "begeistert",
        ],
    ),
    (
        FR,
        &[
            "merci*",
            "genial*",
            "magnifique*",
            "excellent*",
            "parfait*",
            "adore*",
            "j'adore",
            "delicieu*",
            "merveilleu*",
            "ravi*",
            "satisfait*",
            "recommande*",
            "trop bien",
            "incroyable",
        ],
    ),
    (
        ES,
        &[
            "gracias",
            "genial",
            "increible*",
            "maravillos*",
            "me encanta*",
            "me gusta*",
            "excelente*",
            "buenisim*",
            "delicios*",
            "recomiendo",
            "felicidades",
            "enhorabuena",
            "precios*",
            "guapisim*",
        ],
    ),
];

pub(crate) const QUESTION: Keywords = &[
    (
        NL,
        &[
            "vraag*",
            "wanneer",
            "hoe",
            "waar",
            "waarom",
            "welke",
            "wat (is|zijn|kost|kosten)",
            "kan ik",
            "kunnen jullie",
            "kunt u",
            "is het mogelijk",
            "hebben jullie",
            "weet iemand",
        ],
    ),
    (
        EN,
        &[
            "question*",
            "when",
            "how",
            "where",
            "why",
            "which",
            "what",
            "can (i|you|we)",
            "could you",
            "do you",
            "is it possible",
            "does (it|this|anyone)",
            "is there",
            "are there",
            "any (idea|update|news)",
        ],
    ),
    (
        DE,
        &[
            "frage*",
            "wann",
            "wo",
            "wie",
            "warum",
            "welche*",
            "was (kostet|ist)",
            "kann (ich|man)",
            "konnen sie",
            "gibt es",
            "habt ihr",
            "haben sie",
            "ist es moglich",
        ],
    ),
    (
        FR,
        &[
            "question*",
            "quand",
            "comment",
            "pourquoi",
            "quel*",
            "combien",
            "est-ce que",
            "pouvez-vous",
            "avez-vous",
            "puis-je",
            "ou (est|sont)",
        ],
    ),
    (
        ES,
        &[
            "pregunta*",
            "cuando",
            "como",
            "donde",
            "por que",
            "cual*",
            "cuanto*",
            "puedo",
            "pueden",
            "teneis",
            "tienen",
        ],
    ),
];

pub(crate) const FEEDBACK: Keywords = &[
    (ANY, &["feedback"]),
    (NL, &["suggestie*", "tip", "voorstel*", "zou (fijn|leuk|handig|mooi|beter) zijn", "verbeterpunt*", "graag zou ik zien"]),
    (EN, &["suggest*", "it would be (nice|great|better|helpful|good)", "(you|u) (should|could) (add|make|offer|consider|improve)", "please (add|consider|bring back)", "would love (to see|it if)", "wish (you|there was|it)", "improve*", "idea"]),
    (DE, &["vorschlag*", "anregung*", "ware (schon|toll|gut|super|praktisch)", "(ihr|sie) (solltet|sollten|konntet|konnten) .. (anbieten|einfuhren|verbessern|hinzufugen)", "verbesser*"]),
    (FR, &["suggestion*", "(ce serait|ca serait) (bien|super|top|genial|pratique)", "vous (devriez|pourriez) .. (ajouter|proposer|ameliorer)", "amelior*"]),
    (ES, &["sugerencia*", "seria (genial|bueno|estupendo|mejor|util)", "(deberian|podrian) .. (anadir|agregar|ofrecer|mejorar)", "mejorar*"]),
];

pub(crate) const TROLL: Keywords = &[
    // Laughter ("haha", "lol") is left out: fans laugh more than trolls do.
    (ANY, &["🤡", "💩", "🖕", "wtf", "cringe"]),
    (
        NL,
        &[
            "kanker*",
            "klootzak*",
            "idioot*",
            "sukkel*",
            "boeien",
            "niemand vroeg*",
            "wie vroeg*",
            "clowns",
            "kut*",
        ],
    ),
    (
        EN,
        &[
            "idiot*",
            "stupid",
            "dumb*",
            "loser*",
            "clown*",
            "(who|nobody) (cares|asked)",
            "ratio",
            "fuck*",
            "shit*",
            "trash",
            "garbage",
            "stfu",
        ],
    ),
    (
        DE,
        &[
            "idiot*",
            "dumm*",
            "scheiss*",
            "verpiss*",
            "halt die fresse",
            "wen interessiert*",
            "spast*",
            "hurensohn*",
            "wichser*",
        ],
    ),
    (
        FR,
        &[
            "connard*",
            "connasse*",
            "debile*",
            "merde*",
            "ta gueule",
            "osef",
            "on s'en fout",
            "encule*",
            "abruti*",
        ],
    ),
    (
        ES,
        &[
            "idiota*",
            "estupid*",
            "imbecil*",
            "gilipollas",
            "cabron*",
            "mierda*",
            "a nadie le importa",
            "pendejo*",
            "payaso*",
            "callate",
        ],
    ),
];
