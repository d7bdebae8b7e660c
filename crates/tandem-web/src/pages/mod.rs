pub mod investigate;
