// The in-process durable hosts of different test classes would otherwise run side by side (PLATFORM.md warns
// against it), and the suite takes seconds either way.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
