import { expect } from 'chai';
import { checkAccess } from '../src/access.js';
import { NotAllowedError } from '../src/errors.js';

describe('gateway job access policy', () => {
  const policy = { alice: ['*'], '*': ['echo'], '': ['cat'] };
  it('allows everything without a policy', () => {
    expect(() => checkAccess(undefined, undefined, 'exec')).not.to.throw();
  });
  it('applies identity, any-identity and anonymous entries', () => {
    expect(() => checkAccess(policy, 'alice', 'exec')).not.to.throw();
    expect(() => checkAccess(policy, 'bob', 'echo')).not.to.throw();
    expect(() => checkAccess(policy, undefined, 'cat')).not.to.throw();
  });
  it('refuses with 537 for an identity and 530 without one', () => {
    expect(() => checkAccess(policy, 'bob', 'cat')).to.throw(NotAllowedError).with.property('replyCode', 537);
    expect(() => checkAccess(policy, undefined, 'echo')).to.throw(NotAllowedError).with.property('replyCode', 530);
    expect(() => checkAccess({ alice: ['*'] }, undefined, 'echo')).to.throw(NotAllowedError).with.property('replyCode', 530);
  });
});
