/**
 * Issue 5's speed figure: `tskv replace INV h102=h105 --yes` onto a fresh fourth host of a
 * deployed 3-member lab cluster, timed, with client traffic through every host's endpoint
 * throughout (SSH tunnels to each host's loopback client port: traffic stays inside the lab).
 */
import { connectAll } from '../../controller/connect/index.ts';
import { EtcdCluster } from '../../controller/etcd/index.ts';
import { EtcdTunnels } from '../../controller/etcd-tunnel.ts';
import { loadInventory } from '../../controller/inventory/load.ts';
import { Lab } from '../../lab/lab.ts';
import { ClientLoad } from './client-load.ts';
import type { ReplaceSample } from './stats.ts';
import { outputTail, TSKV, timedRun } from './timed-run.ts';

export const REPLACE_HOSTS = ['h102', 'docker', 'h104', 'h105'];
const OLD = 'h102';
const NEW = 'h105';

/** Whether this checkout's CLI has `tskv replace` (it is being written in parallel). */
export async function replaceAvailable(): Promise<boolean> {
  const r = await timedRun(TSKV, ['replace', '--help'], { timeoutMs: 30_000 });
  return r.code === 0 && /usage: tskv replace/.test(r.stdout + r.stderr);
}

/** The client load through SSH tunnels to every inventory host; `close` ends tunnels and connections. */
export async function clientLoad(inventoryPath: string, prefix: string) {
  const inv = await loadInventory(inventoryPath);
  const { pool, connections } = await connectAll(inv.hosts);
  const tunnels = new EtcdTunnels(inv);
  const endpoints = [...connections.values()].map((conn) => tunnels.endpoint(conn));
  const load = new ClientLoad(new EtcdCluster(endpoints, { timeoutMs: 2000 }), prefix);
  const close = async () => {
    await tunnels.close();
    pool.closeAll();
  };
  return { load, close };
}

/** One replacement on a fresh 4-host lab (lab setup and the first deploy are not timed). */
export async function replaceOnce(
  labName: string,
  run: number,
  log: (s: string) => void,
): Promise<ReplaceSample> {
  const lab = await Lab.up({ name: labName, hosts: REPLACE_HOSTS, fresh: true });
  const three = lab.writeInventory({ hosts: { [NEW]: null } }, 'bench-three.yaml');
  const all = lab.writeInventory({}, 'bench-all.yaml');
  const deployed = await timedRun(TSKV, ['deploy', three, '--yes']);
  if (deployed.code !== 0) throw new Error(`deploy before the replacement failed:\n${outputTail(deployed)}`);
  const { load, close } = await clientLoad(all, `tskv-bench/replace-${run}`);
  try {
    if (!(await load.warmedUp()))
      throw new Error('the client load got no write acknowledged before the replacement');
    log(`  replace ${OLD}=${NEW} (client load running)`);
    const replaced = await timedRun(TSKV, ['replace', all, `${OLD}=${NEW}`, '--yes']);
    const counts = await load.stop();
    if (replaced.code !== 0)
      throw new Error(`tskv replace failed (exit ${replaced.code}):\n${outputTail(replaced)}`);
    const lost = await load.lost();
    return { ms: replaced.ms, lostWrites: lost.length, ...counts };
  } finally {
    await load.stop();
    await close();
  }
}
