//! What a participant reads when the rules refuse them, whether they asked through the bot or on
//! their own pages: one sentence per problem code, in one place, so the two say the same thing.

/// The sentence for a refusal with problem `code` (and the problem's `detail`, which a few
/// sentences repeat); `None` for a code with no participant's sentence of its own (each adapter
/// then says it in its own way).
pub fn refusal(code: &str, detail: &str) -> Option<String> {
    Some(match code {
        "session_full" => "Sorry, that session is full and doesn't keep a waitlist.".to_owned(),
        "per_school_limit_reached" => {
            "Sorry, your school already has as many people on that session as it allows.".to_owned()
        }
        "booking_clash" => {
            format!("You can't book that: {detail}. Cancel the other booking first if you'd rather go to this one.")
        }
        "event_not_published" => "That session isn't open for booking yet.".to_owned(),
        "event_cancelled" | "session_cancelled" => "That session has been cancelled, so it can't be booked.".to_owned(),
        "session_started" => "That session has already started, so it can't be booked now.".to_owned(),
        "not_invited" => "That session is a triad visit, only for the triad's schools and its facilitator.".to_owned(),
        "booking_attendance_marked" => {
            "Attendance has already been taken for that booking, so it can't be cancelled.".to_owned()
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clash_repeats_what_it_clashes_with_and_unknown_codes_have_no_sentence() {
        assert_eq!(
            refusal("booking_clash", "it overlaps Phonics on 4 June").as_deref(),
            Some(
                "You can't book that: it overlaps Phonics on 4 June. Cancel the other booking first if you'd rather go to this one."
            )
        );
        assert_eq!(refusal("zzz", "whatever"), None);
    }
}
