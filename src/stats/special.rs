//! Special functions shared by the methods (owner: stats-classic).
