import { describeDeployFaults } from './deploy-faults.ts';

describeDeployFaults('none');
