// Management stage: the management node runs the controller, API and UI and has no overlay bridge of its own, so it
// gets no flows. (It may share a machine with the switch node; then the switch stage fills that br0.)
import { hasRole } from '../../topology/model.js';
import type { Stage } from '../stage.js';

export const managementStage: Stage = {
  name: 'management',
  applies: (n) => hasRole(n, 'management'),
};
