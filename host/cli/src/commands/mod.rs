//! One module per subcommand.

pub mod inspect;
pub mod policy;
pub mod sign;
