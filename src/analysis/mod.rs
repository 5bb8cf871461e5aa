//! Analysis model: the config format (metrics, methods, scoring) and the engine that turns
//! (config, series) into per-metric decisions and one aggregate verdict.
