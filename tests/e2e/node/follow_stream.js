// A client in another language follows the event log: StreamEvents from the
// start, printing one JSON line per event (and one when it has caught up). After
// `dropAfter` events it drops the stream and resumes from the last position it
// received, as a client does after a disconnect. It stops when its standard
// input closes.
// Usage: node follow_stream.js <address> <token> <dropAfter>
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTOS = path.resolve(__dirname, '..', '..', '..', 'protos');

function main() {
  const [address, token, dropAfterText] = process.argv.slice(2);
  const dropAfter = Number(dropAfterText);
  const definition = protoLoader.loadSync('calendarintegration/v1/history.proto', {
    includeDirs: [PROTOS],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const api = grpc.loadPackageDefinition(definition).calendarintegration.v1;
  const client = new api.HistoryService(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);

  let received = 0;
  let lastPosition = '0';
  let current = null;

  function write(line) {
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }

  function follow(after) {
    const call = client.StreamEvents({ after_position: after }, metadata);
    current = call;
    write({ kind: 'subscribed', after });
    call.on('data', (message) => {
      if (call !== current) return; // a dropped stream's last messages
      for (const event of message.events) {
        received += 1;
        lastPosition = event.position;
        write({
          kind: 'event',
          position: event.position,
          type: event.event_type,
          payload_field: event.payload, // the oneof's case (proto-loader's `oneofs`)
          typed: event[event.payload],
          json: JSON.parse(event.payload_json),
        });
        if (received === dropAfter) {
          current = null;
          call.cancel();
          follow(lastPosition); // resume where we were
          return;
        }
      }
      if (message.caught_up) write({ kind: 'caught_up', position: message.position });
    });
    call.on('error', (error) => {
      if (error.code === grpc.status.CANCELLED) return; // we dropped or stopped it
      process.stderr.write(`stream failed: ${error.code} ${error.details}\n`);
      process.exit(1);
    });
  }

  process.stdin.on('data', () => {});
  process.stdin.on('end', () => {
    if (current) current.cancel();
    client.close();
    process.stdout.write('', () => process.exit(0));
  });
  follow('0');
}

main();
