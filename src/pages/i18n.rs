//! Every text of the visitor's pages, one catalog per language (English and Spanish), and the
//! way each language writes dates and times. The language is `?lang=` when it names one, else
//! the first of `Accept-Language` this catalog has, else English.

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike, Weekday};
use std::collections::BTreeMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Es,
}

pub const LANGS: [Lang; 2] = [Lang::En, Lang::Es];

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The language's own name, for the switch between languages.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Español",
        }
    }

    fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "es" => Some(Lang::Es),
            _ => None,
        }
    }

    /// `?lang=` first, then `Accept-Language` by its weights (RFC 9110 §12.5.4), then English.
    pub fn pick(query: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = query.and_then(Lang::from_tag) {
            return lang;
        }
        let mut ranked: Vec<(f32, usize, Lang)> = accept_language
            .unwrap_or_default()
            .split(',')
            .enumerate()
            .filter_map(|(i, item)| {
                let mut parts = item.split(';');
                let lang = Lang::from_tag(parts.next()?)?;
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, i, lang))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.first().map_or(Lang::En, |r| r.2)
    }

    /// The catalog, as templates read it (`{{ t.key }}`).
    pub fn texts(self) -> &'static BTreeMap<&'static str, &'static str> {
        static EN_MAP: LazyLock<BTreeMap<&'static str, &'static str>> = LazyLock::new(|| EN.iter().copied().collect());
        static ES_MAP: LazyLock<BTreeMap<&'static str, &'static str>> = LazyLock::new(|| ES.iter().copied().collect());
        match self {
            Lang::En => &EN_MAP,
            Lang::Es => &ES_MAP,
        }
    }

    /// The text `key` with each `{name}` replaced by its value.
    pub fn fill(self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.texts().get(key).copied().unwrap_or(key).to_string();
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// Names as a sentence lists them: "A", "A and B", "A, B and C".
    pub fn list(self, names: &[String]) -> String {
        let and = match self {
            Lang::En => " and ",
            Lang::Es => " y ",
        };
        match names.split_last() {
            None => String::new(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{}{and}{last}", rest.join(", ")),
        }
    }

    pub fn text(self, key: &str) -> &'static str {
        self.texts().get(key).copied().unwrap_or("")
    }

    fn month_name(self, month: u32) -> &'static str {
        const EN_MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        const ES_MONTHS: [&str; 12] = [
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ];
        let i = (month.clamp(1, 12) - 1) as usize;
        match self {
            Lang::En => EN_MONTHS[i],
            Lang::Es => ES_MONTHS[i],
        }
    }

    pub fn weekday_name(self, day: Weekday) -> &'static str {
        const EN_DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
        const ES_DAYS: [&str; 7] = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"];
        let i = day.num_days_from_monday() as usize;
        match self {
            Lang::En => EN_DAYS[i],
            Lang::Es => ES_DAYS[i],
        }
    }

    pub fn weekday_short(self, day: Weekday) -> &'static str {
        const EN_DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        const ES_DAYS: [&str; 7] = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"];
        let i = day.num_days_from_monday() as usize;
        match self {
            Lang::En => EN_DAYS[i],
            Lang::Es => ES_DAYS[i],
        }
    }

    /// "Tuesday 4 March 2027", "martes, 4 de marzo de 2027".
    pub fn date_long(self, d: NaiveDate) -> String {
        match self {
            Lang::En => {
                format!("{} {} {} {}", self.weekday_name(d.weekday()), d.day(), self.month_name(d.month()), d.year())
            }
            Lang::Es => {
                format!(
                    "{}, {} de {} de {}",
                    self.weekday_name(d.weekday()),
                    d.day(),
                    self.month_name(d.month()),
                    d.year()
                )
            }
        }
    }

    /// "Tuesday 4 March", "martes, 4 de marzo".
    pub fn date_short(self, d: NaiveDate) -> String {
        match self {
            Lang::En => format!("{} {} {}", self.weekday_name(d.weekday()), d.day(), self.month_name(d.month())),
            Lang::Es => format!("{}, {} de {}", self.weekday_name(d.weekday()), d.day(), self.month_name(d.month())),
        }
    }

    /// "March 2027", "marzo de 2027".
    pub fn month_title(self, d: NaiveDate) -> String {
        match self {
            Lang::En => format!("{} {}", self.month_name(d.month()), d.year()),
            Lang::Es => format!("{} de {}", self.month_name(d.month()), d.year()),
        }
    }

    /// English on a 12-hour clock ("2:30 pm"), Spanish on a 24-hour one ("14:30").
    pub fn time(self, t: NaiveTime) -> String {
        match self {
            Lang::En => {
                let (pm, hour) = t.hour12();
                format!("{hour}:{:02}\u{a0}{}", t.minute(), if pm { "pm" } else { "am" })
            }
            Lang::Es => format!("{:02}:{:02}", t.hour(), t.minute()),
        }
    }
}

const EN: &[(&str, &str)] = &[
    ("skip", "Skip to the main content"),
    ("site", "Booking"),
    ("duration", "{n} minutes"),
    ("zone_shown", "Times are shown in {zone}."),
    ("zone_label", "Time zone"),
    ("zone_submit", "Show times in this zone"),
    ("lang_nav", "Language"),
    ("prev_month", "Previous month"),
    ("next_month", "Next month"),
    ("calendar_label", "Choose a day"),
    ("day_one", "{date}, 1 time free"),
    ("day_many", "{date}, {n} times free"),
    ("day_none", "{date}, no free time"),
    ("day_selected", "selected"),
    ("slots_heading", "Free times on {date}"),
    ("slot_name", "{start} to {end}, {date}, {zone}"),
    ("seats_one", "1 seat left"),
    ("seats_many", "{n} seats left"),
    ("choose_day", "Choose a day with free time in the calendar."),
    ("month_empty", "There is no free time in {month}."),
    ("jump", "Go to {month}, the first month with free time"),
    ("no_free_title", "No free time to book"),
    ("no_free_body", "This booking link has no free time left in its whole booking window. Please check again later."),
    ("form_heading", "Your details"),
    ("you_book", "You are booking"),
    ("your_time", "Your time"),
    ("link_time", "The host's time"),
    ("name_label", "Name"),
    ("email_label", "Email"),
    ("email_hint", "We send the confirmation here."),
    ("notes_label", "Notes (optional)"),
    ("book_button", "Book this time"),
    ("other_time", "Choose another time"),
    ("error_summary", "There is a problem"),
    ("err_name_empty", "Enter your name"),
    ("err_name_invalid", "Enter a name of up to 200 characters on one line"),
    ("err_email", "Enter an email address like name@example.com"),
    ("err_notes", "Notes can have up to 2000 characters, without control characters"),
    ("taken", "Sorry, that time was just taken. Here are the free times now."),
    ("booked_title", "You are booked"),
    ("booked_lead", "Your booking is confirmed."),
    ("what", "What"),
    ("when_yours", "When (your time, {zone})"),
    ("when_link", "When (the host's time, {zone})"),
    ("manage_link", "Manage your booking"),
    ("manage_hint", "Keep this link: it lets you reschedule or cancel. Anyone who has it can change your booking."),
    ("ics", "Add to calendar (.ics)"),
    ("manage_title", "Your booking"),
    ("status", "Status"),
    ("status_confirmed", "Confirmed"),
    ("status_canceled", "Canceled"),
    ("status_pending", "Waiting for the host's confirmation"),
    ("status_declined", "Declined"),
    ("status_expired", "Lapsed"),
    ("requested_title", "Request sent"),
    ("requested_lead", "The host confirms each booking: yours waits for their answer, and we will email you when they give it."),
    ("pending_notice", "This request waits for the host's confirmation."),
    ("pending_until", "If the host has not confirmed it by {when}, it lapses."),
    ("declined_notice", "The host declined this request."),
    ("expired_notice", "This request lapsed: the host did not confirm it in time."),
    ("with", "With"),
    ("who", "Booked by"),
    ("where", "Where"),
    ("location_online", "Online meeting: the link comes with your booking"),
    ("notes", "Notes"),
    ("reschedule", "Reschedule"),
    ("cancel", "Cancel this booking"),
    ("cancel_heading", "Cancel this booking?"),
    ("reason_label", "Reason (optional)"),
    ("cancel_confirm", "Yes, cancel it"),
    ("keep", "No, keep it"),
    ("canceled_notice", "This booking is canceled."),
    ("past_notice", "This booking is in the past."),
    ("book_again", "Book a new time"),
    ("notice_rule", "You can reschedule or cancel until {n} minutes before the start."),
    ("too_late", "It is too late to change this booking here: changes are possible until {n} minutes before the start. Please contact the host."),
    ("started", "This booking has started, so it can no longer be changed here."),
    ("reschedule_heading", "Choose a new time"),
    ("reschedule_confirm", "Move my booking to this time"),
    ("new_time", "New time"),
    ("rescheduled", "Your booking was moved."),
    ("canceled_done", "Your booking was canceled."),
    ("link_off", "This booking link no longer offers times, so the booking cannot be moved here."),
    ("not_found_title", "This page does not exist"),
    ("not_found_body", "The link is unknown or no longer active. Please ask the person who shared it for a new one."),
    ("rate_title", "Too many requests"),
    ("rate_body", "Please wait {n} seconds, then try again."),
    ("unavailable_title", "The service is busy"),
    ("unavailable_body", "Please try again in a few seconds. Nothing was changed."),
    ("error_title", "Something went wrong"),
    ("error_body", "Nothing was changed. Please try again later."),
    ("forbidden_title", "This form cannot be used"),
    ("forbidden_body", "Open the page again from its link and repeat what you were doing."),
    ("in_flight", "Your booking is being made. Please reload this page in a moment."),
    ("key_used", "This form was already sent with other details. Please open the booking page again."),
    ("refused", "This change was refused: {why}"),
    ("back", "Back to the booking page"),
    ("today", "today"),
];

const ES: &[(&str, &str)] = &[
    ("skip", "Saltar al contenido principal"),
    ("site", "Reservas"),
    ("duration", "{n} minutos"),
    ("zone_shown", "Las horas se muestran en {zone}."),
    ("zone_label", "Zona horaria"),
    ("zone_submit", "Mostrar las horas en esta zona"),
    ("lang_nav", "Idioma"),
    ("prev_month", "Mes anterior"),
    ("next_month", "Mes siguiente"),
    ("calendar_label", "Elija un día"),
    ("day_one", "{date}, 1 hora libre"),
    ("day_many", "{date}, {n} horas libres"),
    ("day_none", "{date}, sin horas libres"),
    ("day_selected", "seleccionado"),
    ("slots_heading", "Horas libres el {date}"),
    ("slot_name", "{start} a {end}, {date}, {zone}"),
    ("seats_one", "queda 1 plaza"),
    ("seats_many", "quedan {n} plazas"),
    ("choose_day", "Elija en el calendario un día con horas libres."),
    ("month_empty", "No hay horas libres en {month}."),
    ("jump", "Ir a {month}, el primer mes con horas libres"),
    ("no_free_title", "No hay horas libres"),
    ("no_free_body", "Este enlace de reservas no tiene horas libres en todo su plazo de reserva. Vuelva a consultarlo más tarde."),
    ("form_heading", "Sus datos"),
    ("you_book", "Va a reservar"),
    ("your_time", "Su hora"),
    ("link_time", "La hora del anfitrión"),
    ("name_label", "Nombre"),
    ("email_label", "Correo electrónico"),
    ("email_hint", "Le enviamos la confirmación a esta dirección."),
    ("notes_label", "Notas (opcional)"),
    ("book_button", "Reservar esta hora"),
    ("other_time", "Elegir otra hora"),
    ("error_summary", "Hay un problema"),
    ("err_name_empty", "Escriba su nombre"),
    ("err_name_invalid", "Escriba un nombre de hasta 200 caracteres en una línea"),
    ("err_email", "Escriba una dirección de correo como nombre@ejemplo.com"),
    ("err_notes", "Las notas pueden tener hasta 2000 caracteres, sin caracteres de control"),
    ("taken", "Lo sentimos, esa hora acaba de ocuparse. Estas son las horas libres ahora."),
    ("booked_title", "Reserva confirmada"),
    ("booked_lead", "Su reserva está confirmada."),
    ("what", "Qué"),
    ("when_yours", "Cuándo (su hora, {zone})"),
    ("when_link", "Cuándo (hora del anfitrión, {zone})"),
    ("manage_link", "Gestionar su reserva"),
    ("manage_hint", "Guarde este enlace: con él puede cambiar la hora o cancelar. Quien lo tenga puede cambiar su reserva."),
    ("ics", "Añadir al calendario (.ics)"),
    ("manage_title", "Su reserva"),
    ("status", "Estado"),
    ("status_confirmed", "Confirmada"),
    ("status_canceled", "Cancelada"),
    ("status_pending", "Pendiente de la confirmación del anfitrión"),
    ("status_declined", "Rechazada"),
    ("status_expired", "Caducada"),
    ("requested_title", "Solicitud enviada"),
    ("requested_lead", "El anfitrión confirma cada reserva: la suya espera su respuesta, y le escribiremos cuando la dé."),
    ("pending_notice", "Esta solicitud espera la confirmación del anfitrión."),
    ("pending_until", "Si el anfitrión no la confirma antes de {when}, caduca."),
    ("declined_notice", "El anfitrión rechazó esta solicitud."),
    ("expired_notice", "Esta solicitud caducó: el anfitrión no la confirmó a tiempo."),
    ("with", "Con"),
    ("who", "Reservada por"),
    ("where", "Dónde"),
    ("location_online", "Reunión en línea: el enlace llega con tu reserva"),
    ("notes", "Notas"),
    ("reschedule", "Cambiar la hora"),
    ("cancel", "Cancelar esta reserva"),
    ("cancel_heading", "¿Cancelar esta reserva?"),
    ("reason_label", "Motivo (opcional)"),
    ("cancel_confirm", "Sí, cancelarla"),
    ("keep", "No, mantenerla"),
    ("canceled_notice", "Esta reserva está cancelada."),
    ("past_notice", "Esta reserva ya pasó."),
    ("book_again", "Reservar otra hora"),
    ("notice_rule", "Puede cambiar la hora o cancelar hasta {n} minutos antes del inicio."),
    ("too_late", "Ya es tarde para cambiar esta reserva aquí: los cambios son posibles hasta {n} minutos antes del inicio. Póngase en contacto con el anfitrión."),
    ("started", "Esta reserva ya empezó, así que no se puede cambiar aquí."),
    ("reschedule_heading", "Elija una nueva hora"),
    ("reschedule_confirm", "Mover mi reserva a esta hora"),
    ("new_time", "Nueva hora"),
    ("rescheduled", "Su reserva se ha movido."),
    ("canceled_done", "Su reserva se ha cancelado."),
    ("link_off", "Este enlace de reservas ya no ofrece horas, así que la reserva no se puede mover aquí."),
    ("not_found_title", "Esta página no existe"),
    ("not_found_body", "El enlace es desconocido o ya no está activo. Pida uno nuevo a quien se lo compartió."),
    ("rate_title", "Demasiadas solicitudes"),
    ("rate_body", "Espere {n} segundos y vuelva a intentarlo."),
    ("unavailable_title", "El servicio está ocupado"),
    ("unavailable_body", "Vuelva a intentarlo en unos segundos. No se cambió nada."),
    ("error_title", "Algo salió mal"),
    ("error_body", "No se cambió nada. Vuelva a intentarlo más tarde."),
    ("forbidden_title", "Este formulario no se puede usar"),
    ("forbidden_body", "Abra de nuevo la página desde su enlace y repita lo que estaba haciendo."),
    ("in_flight", "Su reserva se está haciendo. Recargue esta página en un momento."),
    ("key_used", "Este formulario ya se envió con otros datos. Abra de nuevo la página de reservas."),
    ("refused", "Este cambio fue rechazado: {why}"),
    ("back", "Volver a la página de reservas"),
    ("today", "hoy"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogs_hold_the_same_keys() {
        let en: Vec<_> = Lang::En.texts().keys().collect();
        let es: Vec<_> = Lang::Es.texts().keys().collect();
        assert_eq!(en, es);
        assert_eq!(en.len(), EN.len(), "no key twice");
    }

    #[test]
    fn the_query_wins_then_accept_language_by_weight() {
        assert_eq!(Lang::pick(Some("es"), Some("en")), Lang::Es);
        assert_eq!(Lang::pick(Some("fr"), Some("fr-CA, es;q=0.5, en;q=0.4")), Lang::Es);
        assert_eq!(Lang::pick(None, Some("en;q=0.2, es-PY")), Lang::Es);
        assert_eq!(Lang::pick(None, Some("de")), Lang::En);
        assert_eq!(Lang::pick(None, None), Lang::En);
    }

    #[test]
    fn names_are_listed_as_a_sentence_lists_them() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(Lang::En.list(&names(&[])), "");
        assert_eq!(Lang::En.list(&names(&["Ana"])), "Ana");
        assert_eq!(Lang::En.list(&names(&["Ana", "Bo"])), "Ana and Bo");
        assert_eq!(Lang::En.list(&names(&["Ana", "Bo", "Cy"])), "Ana, Bo and Cy");
        assert_eq!(Lang::Es.list(&names(&["Ana", "Bo", "Cy"])), "Ana, Bo y Cy");
    }

    #[test]
    fn dates_and_times_follow_the_language() {
        let d = NaiveDate::from_ymd_opt(2027, 3, 2).unwrap();
        assert_eq!(Lang::En.date_long(d), "Tuesday 2 March 2027");
        assert_eq!(Lang::Es.date_long(d), "martes, 2 de marzo de 2027");
        let t = NaiveTime::from_hms_opt(14, 5, 0).unwrap();
        assert_eq!(Lang::En.time(t), "2:05\u{a0}pm");
        assert_eq!(Lang::Es.time(t), "14:05");
    }
}
