// Replaced by `cargo xtask web` with a digest of the build.
export const BUILD = "dev";
