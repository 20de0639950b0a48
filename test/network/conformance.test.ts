/** Every switch driver against the shared conformance suite: one line each. */
import { switchConformance } from './conformance.js';
import { aoscxLab, iosLab } from './labs.js';

switchConformance(iosLab);
switchConformance(aoscxLab);
