/** What outgoing messages are made of: payloads and their MIME entity options. */
/** Message content: a Buffer/Uint8Array is sent as is, a string as UTF-8. */
export type Payload = string | Uint8Array;

/** MIME entity headers of an outgoing message (RFC 3080 §2.2.1.2). */
export interface EntityOptions {
  /** `Content-Type` header; when neither this nor `headers` is given an empty header block (CRLF) is sent. */
  contentType?: string;
  /** Extra MIME headers, e.g. `{ 'Beam-Stream': '1' }`. */
  headers?: Readonly<Record<string, string>>;
  /**
   * Send the payload as the whole entity, verbatim (the caller already wrote the header block). Default false.
   */
  raw?: boolean;
}

/** Options of a reply sent by a profile handler. */
export interface ReplyOptions extends EntityOptions {
  /**
   * Tuning (RFC 3080 §3.1): after this reply's last frame is handed to the transport, the session sends nothing
   * more and stops parsing input until `session.tune()` or `session.resume()`.
   */
  quiet?: boolean;
  /** Called once the reply's last frame was handed to the transport. */
  onSent?: () => void;
}
