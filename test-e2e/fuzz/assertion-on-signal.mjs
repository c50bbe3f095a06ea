// Loaded into a node under test (NODE_OPTIONS=--import): SIGUSR2 makes it fail an assertion, as a bug
// would, so a test can see what the node does then. Nothing else changes.
process.on("SIGUSR2", () => {
  const error = new Error("assertion failed: injected by the test on SIGUSR2");
  error.name = "AssertionError";
  throw error;
});
