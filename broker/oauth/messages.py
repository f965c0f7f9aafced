"""Strings of the oauth pages (consent screen, authorization errors), French first."""

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "oauth.consent.title": "Partager vos données avec {service} ?",
        "oauth.consent.heading": "{service} vous demande l'accès à certaines de vos données",
        "oauth.consent.intro": "{service} souhaite recevoir des données que {holder} détient "
        "sur vous. Aiguillage transmet les données directement de {holder} à {service} et ne "
        "les garde pas. Vous décidez : accepter, accepter moins, ou refuser.",
        "oauth.consent.what": "Quelles données, venant de {holder}",
        "oauth.consent.less_hint": "Décochez les données que vous ne voulez pas partager : "
        "le service ne recevra que celles qui restent cochées.",
        "oauth.consent.why": "Pourquoi",
        "oauth.consent.purpose": "Finalité déclarée auprès de l'opérateur :",
        "oauth.consent.sentence": "Ce que {service} en dit :",
        "oauth.consent.when": "Sur quelle période et à quel rythme",
        "oauth.consent.history": "Les données passées : {history}.",
        "oauth.consent.future_yes": "Les données produites après votre accord, tant qu'il "
        "dure, sont aussi incluses.",
        "oauth.consent.future_no": "Les données produites après votre accord ne sont pas incluses.",
        "oauth.consent.frequency.one-off": "Le service lit vos données une seule fois.",
        "oauth.consent.frequency.daily": "Le service lit vos données au plus une fois par jour.",
        "oauth.consent.frequency.continuous": "Le service lit vos données en continu, à "
        "mesure qu'elles sont produites.",
        "oauth.consent.until": "Le service demande cet accès pour {duration}, soit jusqu'au "
        "{until}.",
        "oauth.consent.duration_legend": "Pour combien de temps",
        "oauth.consent.duration_label": "Durée de votre accord (vous pouvez la raccourcir)",
        "oauth.consent.revoke_heading": "Et si vous changez d'avis",
        "oauth.consent.revoke_text": "Vous pourrez retirer votre accord à tout moment depuis "
        "Aiguillage ; le service perdra l'accès immédiatement.",
        "oauth.consent.privacy_heading": "Ce que le service fait de vos données",
        "oauth.consent.retention": "{service} s'engage à conserver vos données au plus "
        "{retention}.",
        "oauth.consent.privacy_link": "Lire la politique de confidentialité de {service}",
        "oauth.consent.accept": "J'accepte",
        "oauth.consent.refuse": "Je refuse",
        "oauth.consent.actions": "Votre réponse",
        "oauth.consent.no_resource": "Cochez au moins une donnée à partager, ou choisissez "
        "« Je refuse ».",
        "oauth.consent.bad_duration": "Choisissez une durée parmi celles proposées.",
        "oauth.error.request_uri": "Cette demande d'autorisation est inconnue, a expiré ou a "
        "déjà été utilisée. Retournez sur le site du service et recommencez.",
        "oauth.error.authorization": "Cette demande d'autorisation n'est plus en cours. "
        "Retournez sur le site du service et recommencez.",
        "oauth.error.holder_state": "Le retour du détenteur de données ne correspond à aucune "
        "demande en cours.",
        "oauth.error.not_yours": "Cette demande d'autorisation a été ouverte par une autre "
        "personne.",
        "oauth.holder_unavailable.title": "Le détenteur de données ne répond pas",
        "oauth.holder_unavailable.text": "{holder} n'a pas pu confirmer le lien avec votre "
        "compte. Rien n'a été partagé. Vous pouvez réessayer plus tard depuis le service.",
        "oauth.holder_unavailable.back": "Retourner sur {service}",
    },
    "en": {
        "oauth.consent.title": "Share your data with {service}?",
        "oauth.consent.heading": "{service} asks for access to some of your data",
        "oauth.consent.intro": "{service} would like to receive data that {holder} holds about "
        "you. Aiguillage passes the data straight from {holder} to {service} and does not keep "
        "it. You decide: accept, accept less, or refuse.",
        "oauth.consent.what": "Which data, from {holder}",
        "oauth.consent.less_hint": "Untick the data you do not want to share: the service "
        "will only receive what stays ticked.",
        "oauth.consent.why": "Why",
        "oauth.consent.purpose": "Purpose declared to the operator:",
        "oauth.consent.sentence": "In {service}'s own words:",
        "oauth.consent.when": "Over which period, and how often",
        "oauth.consent.history": "Past data: {history}.",
        "oauth.consent.future_yes": "Data produced after you agree, while your consent "
        "lasts, is included too.",
        "oauth.consent.future_no": "Data produced after you agree is not included.",
        "oauth.consent.frequency.one-off": "The service reads your data once.",
        "oauth.consent.frequency.daily": "The service reads your data at most once a day.",
        "oauth.consent.frequency.continuous": "The service reads your data continuously, as "
        "it is produced.",
        "oauth.consent.until": "The service asks for this access for {duration}, that is "
        "until {until}.",
        "oauth.consent.duration_legend": "For how long",
        "oauth.consent.duration_label": "How long your consent lasts (you may shorten it)",
        "oauth.consent.revoke_heading": "If you change your mind",
        "oauth.consent.revoke_text": "You can withdraw your consent at any time from "
        "Aiguillage; the service loses access immediately.",
        "oauth.consent.privacy_heading": "What the service does with your data",
        "oauth.consent.retention": "{service} undertakes to keep your data for at most "
        "{retention}.",
        "oauth.consent.privacy_link": "Read {service}'s privacy policy",
        "oauth.consent.accept": "I accept",
        "oauth.consent.refuse": "I refuse",
        "oauth.consent.actions": "Your answer",
        "oauth.consent.no_resource": "Tick at least one kind of data to share, or choose "
        "“I refuse”.",
        "oauth.consent.bad_duration": "Choose one of the durations offered.",
        "oauth.error.request_uri": "This authorization request is unknown, has expired or was "
        "already used. Go back to the service's site and start again.",
        "oauth.error.authorization": "This authorization request is no longer in progress. "
        "Go back to the service's site and start again.",
        "oauth.error.holder_state": "The data holder's answer matches no request in progress.",
        "oauth.error.not_yours": "This authorization request was opened by someone else.",
        "oauth.holder_unavailable.title": "The data holder does not answer",
        "oauth.holder_unavailable.text": "{holder} could not confirm the link with your "
        "account. Nothing was shared. You can try again later from the service.",
        "oauth.holder_unavailable.back": "Back to {service}",
    },
}
