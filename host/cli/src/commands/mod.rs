//! One module per subcommand.

pub mod controller;
pub mod crds;
pub mod inspect;
pub mod plugin;
pub mod policy;
pub mod sign;
