import type { routes } from '../api/index.ts';
import { detectFirewall } from '../system/firewall-detect.ts';
import type { Handler } from './types.ts';

export const firewallState: Handler<typeof routes.firewallState> = async (request) => {
  const fw = await detectFirewall();
  return {
    backend: fw.backend,
    state: fw.state,
    ...(fw.defaultZone === undefined ? {} : { zone: fw.defaultZone }),
    ports: fw.judge(request.ports),
  };
};
