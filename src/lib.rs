//! pgtide
