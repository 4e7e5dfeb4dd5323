// `express4` is Express 4.21+ installed under an alias for the compatibility run; its API is typed
// here with Express 5's types, which cover everything the adapter and the contract app use.
declare module 'express4' {
  import express from 'express'
  export default express
}
