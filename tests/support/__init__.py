"""The one home of test support, for tests/, bench/, faults/ and fuzz/ alike: env, ports,
databases, the app under test, typed factories, HTTP checks, server processes, test jobs."""
