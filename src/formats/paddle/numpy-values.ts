import { BUILTIN_HANDLERS } from '../pickle/builtins.js';
import type { GlobalHandler } from '../pickle/machine.js';
import { asInt, describe, PyExtension, PyGlobal, PyTuple, type PyValue } from '../pickle/values.js';

/**
 * NumPy arrays as a pickle makes them, understood as data. `ndarray.__reduce__` writes
 *
 *   numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b')      an empty array of the class
 *   BUILD (1, shape, dtype, is_fortran, raw bytes)                      ndarray.__setstate__
 *
 * and the dtype as `numpy.dtype('f4', False, True)` with BUILD (3, '<', None, None, None, -1, -1, 0)
 * (version, byte order, subarray, names, fields, element size, alignment, flags). Protocol 2 writes
 * the raw bytes as `_codecs.encode(str, 'latin1')` (the pickle machine's built-in handler makes them
 * bytes; empty bytes are `__builtin__.bytes()`). Nothing is run: the handlers below only record what the pickle says; whatever does not fit
 * this exact form is recorded as a problem, and the reader refuses the array by name.
 */

/** The globals paddle.save's pickles name, and nothing else is accepted in them. */
export const PADDLE_GLOBALS: ReadonlySet<string> = new Set([
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  'numpy.ndarray',
  'numpy.dtype',
  '_codecs.encode',
  // Protocol 2 writes empty bytes as `__builtin__.bytes()` (an empty array's data).
  'builtins.bytes',
  'collections.OrderedDict',
]);

/** `numpy.dtype(name, align, copy)` and its BUILD state. */
export class NumpyDtypeValue extends PyExtension {
  order = '|';
  problem: string | undefined;
  constructor(readonly typeName: string) {
    super();
  }

  override build(state: PyValue): void {
    const items = state instanceof PyTuple ? state.items : undefined;
    const order = items?.[1];
    if (!items || items.length < 8 || asInt(items[0]) !== 3 || typeof order !== 'string' || !['<', '>', '|', '='].includes(order)) {
      this.problem = `the dtype's state ${describe(state)} is not numpy's (3, byte order, …)`;
      return;
    }
    // A subarray, field names or fields: a structured dtype, which no weight is.
    if (items[2] !== null || items[3] !== null || items[4] !== null) this.problem = `dtype ${this.typeName} is structured (fields or a subarray)`;
    this.order = order;
  }

  /** The typestr (`<f4`, `|b1`), as a .npy header's descr has it. */
  get descr(): string {
    return `${this.order === '=' ? '<' : this.order}${this.typeName}`;
  }
}

/** An ndarray made by `_reconstruct` and given its state by BUILD. */
export class NumpyArrayValue extends PyExtension {
  shape: number[] | undefined;
  dtype: NumpyDtypeValue | undefined;
  fortran = false;
  data: Uint8Array | undefined;
  problem: string | undefined;

  override build(state: PyValue): void {
    const items = state instanceof PyTuple ? state.items : undefined;
    if (!items || items.length !== 5 || asInt(items[0]) !== 1) {
      this.problem = `the array's state ${describe(state)} is not numpy's (1, shape, dtype, is_fortran, data)`;
      return;
    }
    const [, shape, dtype, fortran, data] = items;
    const dims = shape instanceof PyTuple ? shape.items.map((d) => (typeof d === 'boolean' ? undefined : asInt(d))) : undefined;
    if (!dims || dims.some((d) => d === undefined || d < 0)) this.problem = `the array's shape ${describe(shape)} is not a tuple of non-negative integers`;
    else if (!(dtype instanceof NumpyDtypeValue)) this.problem = `the array's dtype ${describe(dtype)} is not a numpy.dtype`;
    else if (dtype.problem !== undefined) this.problem = dtype.problem;
    else if (typeof fortran !== 'boolean') this.problem = `is_fortran is ${describe(fortran)}, not a bool`;
    // An object array's state holds a list of objects, not bytes: its items are pickled values.
    else if (!(data instanceof Uint8Array)) this.problem = `the array's data is ${describe(data)}, not bytes (an object array?)`;
    else {
      this.shape = dims as number[];
      this.dtype = dtype;
      this.fortran = fortran;
      this.data = data;
    }
  }
}

/** The handlers of a Paddle pickle: numpy's reconstruction as data, and the built-in `_codecs.encode`. */
export function paddleHandlers(): ReadonlyMap<string, GlobalHandler> {
  const reconstruct: GlobalHandler = {
    call(args, ctx) {
      const [cls] = args;
      if (!(cls instanceof PyGlobal) || cls.qualifiedName !== 'numpy.ndarray') ctx.fail('InvalidPickle', `_reconstruct of ${describe(cls)}, not of numpy.ndarray`);
      return new NumpyArrayValue();
    },
  };
  return new Map<string, GlobalHandler>([
    ['_codecs.encode', BUILTIN_HANDLERS.get('_codecs.encode')!],
    ['builtins.bytes', BUILTIN_HANDLERS.get('builtins.bytes')!],
    ['collections.OrderedDict', BUILTIN_HANDLERS.get('collections.OrderedDict')!],
    ['numpy.core.multiarray._reconstruct', reconstruct],
    ['numpy._core.multiarray._reconstruct', reconstruct],
    [
      'numpy.dtype',
      {
        call(args, ctx) {
          const [name] = args;
          if (typeof name !== 'string') return ctx.fail('InvalidPickle', `numpy.dtype(${describe(name)}): not a type name`);
          return new NumpyDtypeValue(name);
        },
      },
    ],
  ]);
}
