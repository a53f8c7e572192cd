// A Kinesis Lambda handler for the --exec-format lambda tests, written as for AWS Lambda (the
// Node.js twin of lambda_handler.py): appends each accepted record to $OUTPUT, logs a line per
// batch, fails FAIL_ONCE records once by sequence number, and throws once on RAISE_ONCE.
const fs = require("fs");
const seen = new Set();

exports.handler = async (event, context) => {
  const batchItemFailures = [];
  const accepted = [];
  for (const record of event.Records) {
    const id = record.kinesis.sequenceNumber;
    const text = Buffer.from(record.kinesis.data, "base64").toString("utf8");
    if (text.includes("RAISE_ONCE") && !seen.has("raise " + id)) {
      seen.add("raise " + id);
      throw new Error(`cannot handle ${id} yet`);
    }
    if (text.includes("FAIL_ONCE") && !seen.has(id)) {
      seen.add(id);
      batchItemFailures.push({ itemIdentifier: id });
      continue;
    }
    accepted.push({ id, text, source: record.eventSourceARN, remaining: context.getRemainingTimeInMillis() > 0 });
  }
  fs.appendFileSync(process.env.OUTPUT, accepted.map((entry) => JSON.stringify(entry) + "\n").join(""));
  console.log(`handled ${event.Records.length} records, ${batchItemFailures.length} failed`);
  return { batchItemFailures };
};
