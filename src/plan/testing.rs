//! The fixture of the tests that read a plan: a profile's text in, the plan
//! or the errors a user would see out.

use super::Plan;
use crate::diag::line_col;
use crate::profile::Profile;

/// The plan of a profile that must be valid.
pub fn plan(text: &str) -> Plan {
    Plan::resolve(&Profile::parse("t.toml", text).expect("well-typed"), None)
        .unwrap_or_else(|e| panic!("refused: {e:?}"))
}

/// One error as the user sees it.
#[derive(Debug)]
pub struct Found {
    pub key: String,
    /// Line and column.
    pub at: Option<(usize, usize)>,
    pub message: String,
}

/// The errors of a profile that must be refused, in the order they are shown.
pub fn errors(text: &str) -> Vec<Found> {
    Plan::resolve(&Profile::parse("t.toml", text).expect("well-typed"), None)
        .expect_err("should be refused")
        .into_iter()
        .map(|d| Found { key: d.key, at: d.span.map(|s| line_col(text, s.start)), message: d.message })
        .collect()
}
