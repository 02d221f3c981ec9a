/** The vector codec lives in core (the backends decode stored vectors too); kept here for the concept methods' imports. */
export * from '../../core/vector-codec.js';
