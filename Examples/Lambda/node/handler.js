// An ordinary Kinesis Lambda handler with partial batch responses, as AWS documents them: it runs
// unchanged under ShardFlow behind shardflow-lambda.js. It sums the "amount" of JSON records and
// reports records that are not JSON as failed (ShardFlow retries them).
exports.handler = async (event, context) => {
  const batchItemFailures = [];
  let total = 0;
  for (const record of event.Records) {
    try {
      const payload = JSON.parse(Buffer.from(record.kinesis.data, "base64").toString("utf8"));
      total += Number(payload.amount || 0);
    } catch (error) {
      batchItemFailures.push({ itemIdentifier: record.kinesis.sequenceNumber });
    }
  }
  console.log(`${context.functionName}: ${event.Records.length} records, amount ${total.toFixed(2)}, ${batchItemFailures.length} failed`);
  return { batchItemFailures };
};
