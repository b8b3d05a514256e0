/**
 * The kill sweeps, one after another in one file: each stops a changing command at every step
 * boundary and re-runs it. They are the suite's longest part; `npm test` starts this file first,
 * beside the others, and never two sweeps at once (each loads the machine with a cluster, a writer
 * and a monitor).
 */
import './resume-deploy.ts';
import './resume-replace.ts';
import './resume-membership.ts';
