/**
 * The kill sweeps, one after another in one file: each stops a changing command at every step
 * boundary and re-runs it. They are the suite's longest part, and never two sweeps at once (each
 * loads the machine with a cluster, a writer and a monitor). `node --test` runs its files in path
 * order whatever order `npm test` names them in: this file starts among test/e2e's, by name.
 */
import './resume-deploy.ts';
import './resume-replace.ts';
import './resume-membership.ts';
