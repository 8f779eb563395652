/** `npm start`: runs the service (see service/README.md). */
import { runService } from './run.js';

await runService();
