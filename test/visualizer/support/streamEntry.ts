// Run in a child process (bundled by the test with esbuild): Jest's CommonJS
// sandbox cannot import the ES-module-only @statelyai/inspect, plain Node can.
// argv[2]: the InspectStreamOptions as JSON. Prints the report as JSON.
import { streamClusterToInspector, type InspectStreamOptions } from '../../../visualizer/streamToInspector';

const options = JSON.parse(process.argv[2] ?? '{}') as InspectStreamOptions;
streamClusterToInspector(options).then(
  (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
