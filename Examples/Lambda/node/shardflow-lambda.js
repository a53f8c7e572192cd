#!/usr/bin/env node
// Runs an unchanged AWS Lambda handler (Node.js) as a ShardFlow exec: processor.
//
//   shardflow run --source ... --exec-format lambda \
//       --processor 'exec:node Examples/Lambda/node/shardflow-lambda.js handler.handler'
//
// The argument names the handler as Lambda does, FILE.EXPORT (FILE.js or FILE.mjs in the
// current directory). Each batch arrives on stdin as one JSON line holding the event a Lambda
// function subscribed to the stream receives ({"Records": [...]}); the shim calls the handler
// (async, promise or callback style) and writes its partial batch response,
// {"batchItemFailures": [{"itemIdentifier": SEQUENCE_NUMBER}]}, as one line on stdout.
//
// As under Lambda: a handler that returns nothing processed every record; one that throws (or
// rejects, or calls back with an error) failed the whole batch, so every record is named and
// ShardFlow retries them; console output goes to the logs, here stderr, never to the replies.
"use strict";
const path = require("path");
const readline = require("readline");
const { randomUUID } = require("crypto");
const { pathToFileURL } = require("url");
const fs = require("fs");

const replies = process.stdout;
for (const level of ["log", "info", "debug", "warn", "trace"]) {
  console[level] = console.error;
}

async function load(spec) {
  const dot = spec.lastIndexOf(".");
  if (dot <= 0) {
    console.error(`shardflow-lambda: name the handler as FILE.EXPORT, not ${spec}`);
    process.exit(2);
  }
  const base = path.resolve(spec.slice(0, dot));
  const file = [".js", ".mjs", ".cjs"].map((extension) => base + extension).find((candidate) => fs.existsSync(candidate));
  if (!file) {
    console.error(`shardflow-lambda: no ${base}.js, .mjs or .cjs`);
    process.exit(2);
  }
  const module = file.endsWith(".mjs") ? await import(pathToFileURL(file).href) : require(file);
  const handler = module[spec.slice(dot + 1)];
  if (typeof handler !== "function") {
    console.error(`shardflow-lambda: ${file} exports no function ${spec.slice(dot + 1)}`);
    process.exit(2);
  }
  return handler;
}

function identifiers(event) {
  return (event.Records || []).map((record) => (record.kinesis ? record.kinesis.sequenceNumber : record.dynamodb.SequenceNumber));
}

function invoke(handler, event, context) {
  return new Promise((resolve, reject) => {
    const callback = (error, result) => (error ? reject(error) : resolve(result));
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === "function") returned.then(resolve, reject);
      else if (handler.length < 3) resolve(returned);
    } catch (error) {
      reject(error);
    }
  });
}

async function main() {
  if (process.argv.length !== 3) {
    console.error("usage: shardflow-lambda.js FILE.EXPORT");
    process.exit(2);
  }
  const handler = await load(process.argv[2]);
  const name = path.basename(process.argv[2].slice(0, process.argv[2].lastIndexOf(".")));
  const timeout = Number(process.env.SHARDFLOW_PROCESSOR_TIMEOUT_SECONDS || "60") * 1000;
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const event = JSON.parse(line);
    const deadline = Date.now() + timeout;
    const context = {
      functionName: name,
      functionVersion: "$LATEST",
      invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION || "local"}:000000000000:function:${name}`,
      memoryLimitInMB: "0",
      awsRequestId: randomUUID(),
      logGroupName: `/shardflow/${name}`,
      logStreamName: `reducer-${process.env.SHARDFLOW_REDUCER_INDEX || "0"}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    let failures;
    try {
      const response = (await invoke(handler, event, context)) || {};
      failures = response.batchItemFailures || [];
    } catch (error) {
      console.error(error && error.stack ? error.stack : error);
      failures = identifiers(event).map((itemIdentifier) => ({ itemIdentifier }));
    }
    replies.write(JSON.stringify({ batchItemFailures: failures }) + "\n");
  }
}

main();
