/** `npm start`: runs the service (see src/service/README.md). */
import { runService } from './run.js';

await runService();
