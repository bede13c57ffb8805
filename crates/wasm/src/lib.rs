//! The browser face of mailvet-core, for the signup-form widget.
