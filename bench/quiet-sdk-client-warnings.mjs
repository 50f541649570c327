// Imported for its effect by the MCP benchmarks. The SDK's HTTP client adds an abort listener to
// its transport-wide signal on every request (released when the request is collected), which
// Node reports hundreds of times in a closed loop; every other warning is still printed.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'MaxListenersExceededWarning') console.error(warning);
});
