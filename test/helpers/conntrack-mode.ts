// Imported first by a *-conntrack.e2e.ts file: the suite imported after it runs vadc in conntrack NAT mode.
import { selectConntrackMode } from './nat-mode';

selectConntrackMode();
