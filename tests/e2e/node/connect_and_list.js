// A client in another language: loads our protos at run time with
// @grpc/proto-loader, connects an account and lists its calendars.
// Usage: node connect_and_list.js <address> <token> <sub_account_id> <user_id> <apple_id>
// The app-specific password comes on standard input, so it never shows in a process list.
'use strict';

const path = require('path');
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTOS = path.resolve(__dirname, '..', '..', '..', 'protos');

function call(client, method, request, metadata) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline: Date.now() + 30000 }, (error, response) =>
      error ? reject(error) : resolve(response));
  });
}

async function main() {
  const [address, token, subAccountId, userId, appleId] = process.argv.slice(2);
  const appPassword = fs.readFileSync(0, 'utf8').trim();
  const definition = protoLoader.loadSync('calendarintegration/v1/connection.proto', {
    includeDirs: [PROTOS],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const api = grpc.loadPackageDefinition(definition).calendarintegration.v1;
  const client = new api.ConnectionService(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);

  const connected = await call(client, 'ConnectAccount', {
    sub_account_id: subAccountId, user_id: userId, apple_id: appleId, app_password: appPassword,
    request_id: `node-${Date.now()}`,
  }, metadata);
  const listed = await call(client, 'ListCalendars', {
    sub_account_id: subAccountId,
    connection_id: connected.connection.connection_id,
    min_position: connected.position,
  }, metadata);
  let rejected = null;
  try {
    await call(client, 'GetConnection', { sub_account_id: subAccountId, connection_id: 'nope' }, metadata);
  } catch (error) {
    rejected = { code: error.code, details: error.details };
  }
  client.close();
  process.stdout.write(JSON.stringify({
    connection: connected.connection,
    calendars: listed.calendars,
    rejected,
  }));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
