// `npm run simulator`: the WeChat Pay simulator alone, on SIM_PORT (default 3100).
import { bootDatabase, exitWithStartupError, log, startConfiguredSimulator } from './lib/boot';
import { onParentExit, STOP_SIGNALS } from './lib/processes';

const say = log('simulator');

async function main() {
  const { env, databaseUrl, postgres } = await bootDatabase({ seed: false, scope: 'simulator' }).catch(exitWithStartupError);
  const sim = await startConfiguredSimulator(env, databaseUrl).catch(exitWithStartupError);
  say(`listening on ${sim.url} (phone page ${sim.url}/pay?code_url=...)`);
  const stop = async () => {
    await sim.close();
    if (postgres?.owned) await postgres.stop();
    process.exit(0);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => void stop());
  onParentExit(() => void stop());
}

void main();
