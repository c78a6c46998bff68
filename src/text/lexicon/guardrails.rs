//! The word lists every draft is checked against before it may go out
//! (`draft/guardrails.rs`): what no reply may promise or say, and what some
//! replies must say. Each names a failure the reviewer sees
//! (`money_promise: refund`).

/// Money, refunds, discounts, vouchers, compensation: in any language, a
/// draft that mentions them reads as a promise, so none may go out alone.
/// A sentence the facts file states word for word ("Shipping is free from
/// €50.") is the brand's policy, not a promise, and passes (the guardrails'
/// `check` takes the facts out first).
///
/// A bare "free" is not listed: "feel free", "toll-free" and "free time" are
/// not offers. What is listed are the forms that give something away ("for
/// free", "a free replacement", "free of charge"). Verbs split around their
/// object (Dutch "we betalen het bedrag terug", German "wir zahlen dir den
/// Betrag zurück") are written with a gap (`a .. b`).
pub(crate) const MONEY: &[&str] = &[
    "refund*",
    "reimburs*",
    "money back",
    "pay (you|it|that) back",
    "discount*",
    "voucher*",
    "coupon*",
    "compensat*",
    "free of charge",
    "for free",
    "free (new )?(replacement*|product*|item*|gift*|repair*|upgrade*|sample*|month*|subscription*|one|ones|copy|shipping|delivery)",
    "at no (extra |additional )?(cost|charge)",
    "on the house",
    "complimentary",
    "gift card*",
    "store credit",
    "credit note",
    "terugbeta*",
    "terug (te )?betalen",
    "(betaal*|betalen|stort*) .. terug",
    "geld terug",
    "terugstort*",
    "teruggestort*",
    "korting*",
    "tegoedbon*",
    "waardebon*",
    "cadeaubon*",
    "kortingscode*",
    "creditnota*",
    "crediteren",
    "vergoed*",
    "schadevergoeding*",
    "compensatie*",
    "gratis",
    "kosteloos",
    // Inside compounds too (Rückerstattung, Kostenerstattung); this also
    // holds a rare "Berichterstattung", which a person then lets through.
    "*erstatt*",
    "(zuruck|ruck)zahl*",
    "(zahle|zahlen|zahlt|zahlten|uberweisen|uberweise|uberweist|uberwiesen) .. zuruck",
    "geld zuruck",
    "rabatt*",
    "gutschein*",
    "gutschrift*",
    "gutschreib*",
    "gutgeschrieben",
    "entschadig*",
    "kompensation*",
    "kostenlos*",
    "rembours*",
    "remise*",
    "reduction*",
    "bon d'achat",
    // "avoir" is mostly "to have" ("merci de nous l'avoir signalé"); only
    // the noun, a credit note, is money.
    "(un|d'un|votre|ton|cet) avoir",
    "dedommag*",
    "indemni*",
    "geste commercial",
    "gratuit*",
    "sans frais",
    "a nos frais",
    "reembols*",
    "(devolucion*|devolv*|devuelv*) .. dinero",
    "abon* .. (importe|dinero)",
    "descuento*",
    "cupon*",
    // "vale" is mostly "OK"; only "vale de/por/regalo" is a voucher. Raw,
    // so that "vale, de acuerdo" (punctuation between) does not match.
    r"re:(?-u:\b)vales? (?:de|por|regalo)(?-u:\b)",
    "sin (coste|costo|cargo)",
    "compensacion*",
    "indemnizacion*",
    // Paying for something instead of paying back.
    "no charge",
    "free of cost",
    "pay for (the |your |a )?(repair*|replacement*|shipping|return*|postage|cost*|damage*)",
    "cover (the |your |all )?(cost*|shipping|repair*|postage|expenses)",
    "(betalen|betaal*|nemen) .. (reparatie*|verzendkosten|kosten) .. (voor onze rekening|terug)",
    "voor onze rekening",
    "(kosten|versandkosten|reparatur*) .. ubernehm*",
    "ubernehm* .. (kosten|versandkosten|reparatur*)",
    "auf unsere kosten",
    "(prenons|prendrons|prend|prendre) en charge .. (frais|cout*|reparation*|remplacement*)",
    "(cubrimos|cubriremos|asumimos|asumiremos|nos hacemos cargo de) .. (gastos|coste*|costo*|reparacion*)",
    // A price cut, in figures ("20% off", "20 percent off", "€5 off").
    r"re:[0-9] ?(?:%|percent|procent|prozent)? ?off(?-u:\b)",
    // Any currency, with or without figures: "twenty euros", "vijftig
    // euro", "a 20-euro credit", "$20". The facts file's own prices pass.
    r"re:[€$£]|(?-u:\b)(?:eur|euros?|usd|dollars?|gbp|pounds?|quid|chf)(?-u:\b)",
];

/// Things a bot must not say about itself.
pub(crate) const AI_TALK: &[&str] = &[
    "as an ai",
    "ai model",
    "language model",
    "chatbot",
    "my instructions",
    "system prompt",
    "i am a bot",
    "i'm a bot",
    "openai",
    "chatgpt",
    "my prompt",
    "ignore previous",
    "als ai",
    "taalmodel",
    "mijn instructies",
    "ik ben een bot",
    "ik ben een ai",
    "ki-modell",
    "sprachmodell",
    "als ki",
    "meine anweisungen",
    "en tant qu'ia",
    "modele de langage",
    "mes instructions",
    "como ia",
    "modelo de lenguaje",
    "mis instrucciones",
];

/// Personal data a public reply must not ask to be posted.
pub(crate) const PII_WORDS: &[&str] = &[
    "e-?mail*",
    "address*",
    "phone*",
    "telephone*",
    "order number*",
    "iban",
    "bank*",
    "adres*",
    "telefoonnummer*",
    "mobiel*",
    "bestelnummer*",
    "rekeningnummer*",
    "adresse*",
    "telefonnummer*",
    "handynummer*",
    "bestellnummer*",
    "telephone*",
    "numero de commande",
    "numero de telephone",
    "direccion*",
    "telefono*",
    "numero de pedido",
    "correo*",
];

/// Phrases that move a conversation out of public view. A bare "message"
/// (or "Nachricht", "mensaje") is not one: "thanks for your message, share
/// your order number here" asks for it in public. Asking for a message *to
/// us* is: on social media that lands in the brand's inbox. Short forms
/// ("PM", "MP", "PN", "MD") count only with a word that makes them a channel,
/// so "5 pm" does not. The brand's own `channel` is added (the guardrails'
/// `with_private_channel`).
pub(crate) const PRIVATE_CHANNEL: &[&str] = &[
    "(dm|dms)",
    "direct message*",
    "private message*",
    "privately",
    "in private",
    "inbox",
    "message us",
    "(send|drop) us a (private |direct )?message",
    "(pm|pb|pn|mp|md) (us|me|ons|mij|uns|nous|nos)",
    "(a|an|via|by|per|een|eine|einer|un|une|en|par|por|al) (pm|pb|pn|mp|md)",
    "privebericht*",
    "prive bericht*",
    "(via|in|per) prive",
    "persoonlijk bericht*",
    "stuur (ons|mij|me) een (prive )?bericht*",
    "direktnachricht*",
    "privatnachricht*",
    "private nachricht*",
    "personliche nachricht*",
    "(schick*|schreib*|send*) (uns|mir) (eine |per )?(private )?nachricht*",
    "message prive*",
    "message direct*",
    "messagerie privee",
    "en prive",
    "(envoie*|envoyez|ecrivez|ecris) (nous|moi) un message",
    "mensaje privado",
    "mensaje directo",
    "(por|en) privado",
    "(envianos|escribenos|mandanos) (un )?mensaje*",
];

/// Words that turn on the customer: dismissal, blame, telling them to be
/// quiet. Insults and swear words are read with the rules layer's troll
/// cues beside these. A reply that says any of them is never sent.
pub(crate) const HOSTILE: &[&str] = &[
    "(we|i) (do not|don't|dont|couldn't|could not) care",
    "nobody cares",
    "not our (problem|fault|concern)",
    "your (own )?fault",
    "deal with it",
    "shut up",
    "stop (whining|complaining|crying|moaning)",
    "(go away|get lost|piss off)",
    "you deserve* (it|this|that)",
    "(kan|kunnen|boeit) ons (niet|geen bal|geen reet|geen moer|niks) (schelen|boeien)",
    "boeit ons niet",
    "jammer dan",
    "(je|jouw|uw) eigen schuld",
    "zeur niet",
    "hou (je|uw) (mond|bek|kop)",
    "niet ons probleem",
    "zoek het (zelf )?(maar )?uit",
    "rot op",
    "(ist|sind) (uns|mir) (egal|wurscht|wurst)",
    "(selber|selbst) schuld",
    "(nicht|kein) unser problem",
    "halt (den mund|die klappe)",
    "hor auf zu (jammern|heulen|meckern)",
    "pech gehabt",
    "on s'en (fiche|fout|moque)",
    "(c'est|cest) (votre|ta) (faute|probleme)",
    "(pas|ce n'est pas) notre probleme",
    "tant pis pour (vous|toi)",
    "(tais toi|taisez vous)",
    "arret* de (pleurer|vous plaindre|te plaindre|pleurnicher)",
    "nos da igual",
    "no (es )?nuestro problema",
    "(es|fue) (tu|su) culpa",
    "deja de quejarte",
    "no nos importa",
    "nos importa un (bledo|pepino|comino)",
    // Belittling the customer's words, and a thank-you taken back: the
    // model's reading of tone can miss them, these words cannot.
    "(useless|pointless|stupid|dumb|silly|ridiculous|worthless) (comment|question|review|message|remark|complaint)",
    "(nutteloze|nutteloos|domme|stomme|onzinnige|belachelijke|zinloze) (reactie|vraag|opmerking|review|recensie|bericht|klacht)",
    "(nutzlos*|dumm*|blod*|sinnlos*|lacherlich*) (kommentar|frage|bewertung|nachricht|beschwerde|bemerkung)",
    "(commentaire|question|avis|message|remarque|plainte) (assez |tres |vraiment |completement )?(inutile|stupide|idiot|ridicule|debile)",
    "(comentario|pregunta|resena|mensaje|queja) (bastante |muy |totalmente )?(inutil|estupid*|tont*|ridicul*)",
    "(thanks|thank you|bedankt|dank je|danke|merci|gracias) (i guess|denk ik|schatze ich|je suppose|supongo)",
];

/// Words that apologise, in the five languages: an answer to an unhappy
/// customer without one of them does not do its job.
pub(crate) const APOLOGY: &[&str] = &[
    "sorry",
    "apolog*",
    "excuses",
    "spijt",
    "entschuldig*",
    "tut (uns|mir) (sehr |wirklich |aufrichtig )?leid",
    "bedauern",
    "desole*",
    "excus*",
    "pardon",
    "regrett*",
    "lo (sentimos|siento)",
    "sentimos mucho",
    "disculp*",
    "perdon*",
    "lamentamos",
];

/// Words that thank, in the five languages.
pub(crate) const THANKS: &[&str] = &["thank*", "thx", "bedankt", "dank*", "merci", "gracias"];
