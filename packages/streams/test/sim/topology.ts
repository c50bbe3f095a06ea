// The application the streams simulation runs, built with the DSL as a user would: three independent
// pipelines in one topology, so an instance runs tasks of four sub-topologies side by side.
//   words     --groupByKey().count()------------------------------------------------> word-counts
//   clicks    --groupByKey().windowedBy(tumbling, grace).aggregate(sum)--------------> click-sums (key@start)
//   orders ⋈ customers (stream-table join) --groupBy(region)--> repartition --sum---> region-totals
// The join's sub-topology reads two topics, so its task s_p reads partition p of both (co-partitioned);
// the totals' sub-topology reads the repartition topic the join's tasks write.

import { Materialized, Serdes, StreamsBuilder, TimeWindows, type Topology } from "../../src/index.js";

export const applicationId = "sim";
export const windowSizeMs = 2_000;
export const windowGraceMs = 500;

export const topics = {
  words: "words",
  clicks: "clicks",
  orders: "orders",
  customers: "customers",
  wordCounts: "word-counts",
  clickSums: "click-sums",
  regionTotals: "region-totals",
} as const;

export const inputTopics = [topics.words, topics.clicks, topics.orders, topics.customers] as const;
export type InputTopic = (typeof inputTopics)[number];
export const outputTopics = [topics.wordCounts, topics.clickSums, topics.regionTotals] as const;

export const stores = {
  counts: "word-count-store",
  clickSums: "click-sum-store",
  customers: "customer-store",
  regionTotals: "region-total-store",
} as const;

const S = Serdes.String();
const int64 = Serdes.Int64();
const strings = { keySerde: S, valueSerde: S };

export function buildTopology(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream<string, string>(topics.words, strings)
    .groupByKey()
    .count(Materialized.as(stores.counts))
    .toStream()
    .to(topics.wordCounts, { keySerde: S, valueSerde: int64 });

  builder
    .stream<string, string>(topics.clicks, strings)
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(windowSizeMs, windowGraceMs))
    .aggregate(
      () => 0,
      (_key, value, sum) => sum + Number(value),
      Materialized.as<string, number>(stores.clickSums).withValueSerde(int64),
    )
    .toStream()
    .map((windowed, sum) => [`${windowed.key}@${windowed.window.start}`, sum] as [string, number])
    .to(topics.clickSums, { keySerde: S, valueSerde: int64 });

  const customers = builder.table<string, string>(
    topics.customers,
    strings,
    Materialized.as(stores.customers),
  );
  builder
    .stream<string, string>(topics.orders, strings)
    .join(customers, (amount, region) => `${region}:${amount}`)
    .groupBy((_customer, regionAmount) => regionAmount.split(":")[0] as string, strings)
    .aggregate(
      () => 0,
      (_region, regionAmount, total) => total + Number(regionAmount.split(":")[1]),
      Materialized.as<string, number>(stores.regionTotals).withValueSerde(int64),
    )
    .toStream()
    .to(topics.regionTotals, { keySerde: S, valueSerde: int64 });
  return builder.build();
}
