// `npm run simulator`: the WeChat Pay simulator alone, on SIM_PORT (default 3100).
import { ensureSimulatorCredentials } from '@/simulator/credentials';
import { startSimulator } from '@/simulator/server';
import { bootDatabase, exitWithStartupError, log, onParentExit } from './lib/boot';

const say = log('simulator');

async function main() {
  const { env, databaseUrl, postgres } = await bootDatabase({ seed: false, scope: 'simulator' }).catch(exitWithStartupError);
  const credentials = await ensureSimulatorCredentials(env.simCredentialsFile);
  const sim = await startSimulator({
    port: env.SIM_PORT,
    databaseUrl,
    credentials,
    timeScale: env.SIM_TIME_SCALE,
    merchantName: env.MERCHANT_NAME,
    log: say,
  }).catch(exitWithStartupError);
  say(`listening on ${sim.url} (phone page ${sim.url}/pay?code_url=...)`);
  const stop = async () => {
    await sim.close();
    if (postgres?.owned) await postgres.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  onParentExit(() => void stop());
}

void main();
