//! What a participant reads when the rules refuse them, whether they asked through the bot or on
//! their own pages: one sentence per problem code, in one place, so the two say the same thing.

use crate::problem_code::ProblemCode;

/// The sentence for a refusal with problem `code` (and the problem's `detail`, which a few
/// sentences repeat); `None` for a code with no participant's sentence of its own (each adapter
/// then says it in its own way).
pub fn refusal(code: ProblemCode, detail: &str) -> Option<String> {
    Some(match code {
        ProblemCode::SessionFull => "Sorry, that session is full and doesn't keep a waitlist.".to_owned(),
        ProblemCode::PerSchoolLimitReached => {
            "Sorry, your school already has as many people on that session as it allows.".to_owned()
        }
        ProblemCode::BookingClash => {
            format!("You can't book that: {detail}. Cancel the other booking first if you'd rather go to this one.")
        }
        ProblemCode::EventNotPublished => "That session isn't open for booking yet.".to_owned(),
        ProblemCode::EventCancelled | ProblemCode::SessionCancelled => {
            "That session has been cancelled, so it can't be booked.".to_owned()
        }
        ProblemCode::SessionStarted => "That session has already started, so it can't be booked now.".to_owned(),
        ProblemCode::NotInvited => {
            "That session is a triad visit, only for the triad's schools and its facilitator.".to_owned()
        }
        ProblemCode::BookingAttendanceMarked => {
            "Attendance has already been taken for that booking, so it can't be cancelled.".to_owned()
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clash_repeats_what_it_clashes_with_and_other_codes_have_no_sentence() {
        assert_eq!(
            refusal(ProblemCode::BookingClash, "it overlaps Phonics on 4 June").as_deref(),
            Some(
                "You can't book that: it overlaps Phonics on 4 June. Cancel the other booking first if you'd rather go to this one."
            )
        );
        assert_eq!(refusal(ProblemCode::NotFound, "whatever"), None);
    }
}
