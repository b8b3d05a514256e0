import type { Step } from './steps.ts';

/** What letting ports in takes on one host: the lines said, and the steps that do it, in order. */
export interface OpenPlan {
  actions: string[];
  steps: Step[];
}

export const tcpList = (ports: number[]): string => ports.map((p) => `${p}/tcp`).join(' ');
