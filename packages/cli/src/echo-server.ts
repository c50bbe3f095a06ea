// The server half of `brook bench echo`, forked into its own process so the
// baseline, like a real node, has the client and the server on separate
// cores. It answers every call with the bytes it got, using raw Buffer
// (de)serializers: the least a grpc-js round trip can cost on this machine.

import * as grpc from "@grpc/grpc-js";

const identity = (bytes: Buffer) => bytes;

export const echoMethod = {
  path: "/brook.bench.Echo/Echo",
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
} as const;

export const echoChannelOptions = {
  "grpc.max_receive_message_length": 64 << 20,
  "grpc.max_send_message_length": 64 << 20,
};

function serve(): void {
  const server = new grpc.Server(echoChannelOptions);
  server.addService(
    { Echo: echoMethod },
    {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) =>
        done(null, call.request),
    },
  );
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) throw error;
    process.send?.({ port });
  });
  // Ends with its parent.
  process.on("disconnect", () => process.exit(0));
}

if (process.send) serve();
