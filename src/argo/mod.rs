//! Argo Rollouts metric-provider plugin adapter (owner: Argo work).
