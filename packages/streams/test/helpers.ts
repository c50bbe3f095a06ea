// Test helpers: build a topology with a callback and run it in a driver with string keys by default.

import { Serdes, StreamsBuilder, TopologyTestDriver, type TopologyTestDriverConfig } from "../src/index.js";

export const strings = { keySerde: Serdes.String(), valueSerde: Serdes.String() };

export function driverFor(
  build: (builder: StreamsBuilder) => void,
  config: Partial<TopologyTestDriverConfig> = {},
): TopologyTestDriver {
  const builder = new StreamsBuilder();
  build(builder);
  return new TopologyTestDriver(builder.build(), {
    applicationId: "app",
    defaultKeySerde: Serdes.String(),
    ...config,
  });
}
