// Runs graphql-http's GraphQL-over-HTTP server audits against the URL given
// and fails unless every MUST and every SHOULD audit passes. MAY audits are
// printed for information.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
const tally = {};
let failed = 0;
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  const level = audit.name.split(' ')[0];
  tally[`${level} ${result.status}`] = (tally[`${level} ${result.status}`] ?? 0) + 1;
  if (result.status !== 'ok') {
    const fatal = level === 'MUST' || level === 'SHOULD';
    if (fatal) failed++;
    console.log(`${fatal ? 'FAIL' : 'note'} ${audit.id} ${audit.name}: ${result.reason}`);
  }
}
console.log(JSON.stringify(tally));
process.exit(failed ? 1 : 0);
