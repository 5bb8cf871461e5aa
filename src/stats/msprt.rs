//! TODO(owner helper): see ARCHITECTURE.md
