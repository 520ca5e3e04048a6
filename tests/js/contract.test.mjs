// The contract suite in Node, against the installed package (ESM import).
import { test } from 'node:test';
import * as lib from 'eventjournal';
import { createSuite } from './contract/suite.mjs';

for (const { name, fn } of createSuite(lib)) test(name, fn);
