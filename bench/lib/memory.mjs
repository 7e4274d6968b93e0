// --memory: issue item 4. Issues many tokens and records the server's RSS as it
// goes (JWTs: should stay flat), then for opaque tokens how much storage each
// stored token costs and whether expired ones are cleaned.
export async function runMemory() {
  console.log('memory mode: not implemented yet');
}
