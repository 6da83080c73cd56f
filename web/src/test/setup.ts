// Waiting for what must appear, generously: a loaded CI machine renders slowly,
// and a test that fails only because of that proves nothing.
import { configure } from '@testing-library/react';

configure({ asyncUtilTimeout: 10_000 });
